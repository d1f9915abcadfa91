# The setup container of docker-compose.yml: Node 20 for the scripts and the chaincode build, with
# the Fabric CLI tools (cryptogen, configtxgen, osnadmin, peer) and fabric-ca-client taken from the
# official images.
FROM hyperledger/fabric-tools:3.1 AS fabric-tools
FROM hyperledger/fabric-ca:1.5 AS fabric-ca
FROM node:20-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends openssl curl perl && rm -rf /var/lib/apt/lists/*
COPY --from=fabric-tools /usr/local/bin/ /opt/fabric/bin/
COPY --from=fabric-ca /usr/local/bin/fabric-ca-client /opt/fabric/bin/
ENV FABRIC_HOME=/opt/fabric
WORKDIR /repo
