import { expect } from 'chai';
import { extractFields, normaliseLine } from '../../src/ocr.js';

describe('gateway: certificate OCR field extraction', () => {
  it('reads Chinese labels, spaced CJK and a validity period', () => {
    const f = extractFields([
      { text: '中 华 人 民 共 和 国 特 种 作 业 操 作 证', confidence: 90 },
      { text: '证 号 : T 110101199001011234', confidence: 88 },
      { text: '姓 名 : 张 三', confidence: 91 },
      { text: '作 业 类 别 : 焊 接 与 热 切 割 作 业', confidence: 85 },
      { text: '准 操 项 目 : 熔 化 焊 接 与 热 切 割 作 业', confidence: 80 },
      { text: '有 效 期 限 : 2022-03-15 至 2028-03-14', confidence: 87 },
    ]);
    expect(f.certificateNo?.value).to.equal('T110101199001011234');
    expect(f.name?.value).to.equal('张三');
    expect(f.category?.value).to.equal('焊接与热切割作业');
    expect(f.categoryId).to.equal('welding_cutting');
    expect(f.item?.value).to.equal('熔化焊接与热切割作业');
    expect(f.validFrom?.value).to.equal('2022-03-15');
    expect(f.validUntil?.value).to.equal('2028-03-14');
    expect(f.validUntil?.confidence).to.equal(87);
  });
  it('reads English labels and dotted or Chinese dates', () => {
    const f = extractFields([
      { text: 'Certificate No: T3201 0219 8505 054321', confidence: 70 },
      { text: 'Name: LI Si', confidence: 75 },
      { text: 'Category: Electrician Work', confidence: 80 },
      { text: 'Item: Low Voltage Electrician', confidence: 80 },
      { text: 'Valid From: 2023.01.05', confidence: 80 },
      { text: 'Valid Until: 2029年1月4日', confidence: 80 },
    ]);
    expect(f.certificateNo?.value).to.equal('T320102198505054321');
    expect(f.name?.value).to.equal('LI Si');
    expect(f.categoryId).to.equal('electrician');
    expect(f.validFrom?.value).to.equal('2023-01-05');
    expect(f.validUntil?.value).to.equal('2029-01-04');
  });
  it('normalises full-width punctuation', () => {
    expect(normaliseLine('姓 名 ： 王 五')).to.equal('姓名: 王五');
  });
});
