/** Every label of the screen in Chinese and English; the choice is kept in the browser. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export type Lang = 'zh' | 'en';

const LABELS = {
  title: ['特殊作业监管', 'Special operations supervision'],
  switchLanguage: ['English', '中文'],
  signIn: ['登录', 'Sign in'],
  signOut: ['退出', 'Sign out'],
  credential: ['令牌（JWT）', 'Token (JWT)'],
  credentialHelp: ['粘贴身份提供方签发的令牌。', 'Paste the token your identity provider issued.'],
  signedInAs: ['当前用户', 'Signed in as'],
  allEnterprises: ['全部企业', 'Every enterprise'],
  ownEnterprise: ['仅本企业', 'Own enterprise only'],
  enterprise: ['企业', 'Enterprise'],
  alarms: ['实时报警', 'Live alarms'],
  permits: ['作业票', 'Permits'],
  kpis: ['指标', 'KPIs'],
  risk: ['风险分析', 'Risk analysis'],
  timeline: ['作业票追溯', "Permit's timeline"],
  grade: ['等级', 'Grade'],
  gradeN: ['级报警', 'grade'],
  time: ['时间', 'Time'],
  site: ['厂区', 'Site'],
  area: ['区域', 'Area'],
  kind: ['类型', 'Kind'],
  status: ['状态', 'Status'],
  device: ['设备', 'Device'],
  responseSeconds: ['响应（秒）', 'Response (s)'],
  acknowledge: ['确认', 'Acknowledge'],
  acknowledged: ['已确认', 'acknowledged'],
  open: ['未处理', 'open'],
  closed: ['已关闭', 'closed'],
  noAlarms: ['没有未关闭的报警。', 'No open alarms.'],
  live: ['实时连接', 'Live'],
  reconnecting: ['正在重新连接…', 'Reconnecting…'],
  newAlarms: ['条新报警', 'new alarm(s)'],
  permitNo: ['作业票号', 'Permit no.'],
  type: ['作业类型', 'Operation'],
  level: ['级别', 'Level'],
  state: ['状态', 'State'],
  any: ['全部', 'any'],
  appliedAt: ['申请时间', 'Applied'],
  validUntil: ['有效期至', 'Valid until'],
  areaPlan: ['区域平面：作业与报警', 'Area plan: work and alarms'],
  activePermits: ['进行中作业', 'active permits'],
  openAlarms: ['未关闭报警', 'open alarms'],
  filter: ['筛选', 'Filter'],
  total: ['共', 'Total'],
  averageResponse: ['平均报警响应时间', 'Average alarm response'],
  p90Response: ['报警响应时间 P90', 'Alarm response, p90'],
  responded: ['已响应报警 / 报警总数', 'Alarms acknowledged / raised'],
  openByGrade: ['未关闭报警（按等级）', 'Open alarms by grade'],
  expiring60: ['60 天内到期证书', 'Certificates expiring within 60 days'],
  repeatRate: ['重复违章率', 'Repeat-violation rate'],
  repeatTrend: ['重复违章率趋势', 'Repeat-violation trend'],
  trainingCoverage: ['培训覆盖率', 'Training coverage'],
  overdueReviews: ['逾期复审', 'Overdue reviews'],
  window: ['统计区间', 'Window'],
  seconds: ['秒', 's'],
  none: ['—', '—'],
  heatMap: ['报警与违章热力图（区域 × 月份）', 'Alarms and violations by area × month'],
  heatMapSites: ['报警与违章热力图（厂区 × 月份）', 'Alarms and violations by site × month'],
  moreSites: ['更多厂区', 'More sites'],
  pickSite: ['选择厂区以查看其各区域。', 'Choose a site to see its areas.'],
  alarmsShort: ['报警', 'alarms'],
  repeatByUnit: ['各作业单位（承包商、班组）违章次数（按月）', 'Violations per work unit (contractor or team) and month'],
  workUnit: ['作业单位', 'Work unit'],
  repeat: ['重复', 'repeat'],
  violationsShort: ['违章', 'violations'],
  noData: ['暂无数据。', 'No data yet.'],
  openTimeline: ['打开追溯', 'Open timeline'],
  step: ['步骤', 'Step'],
  who: ['操作人', 'Who'],
  block: ['区块', 'Block'],
  transaction: ['交易', 'Transaction'],
  detail: ['详情', 'Detail'],
  evidence: ['证据', 'Evidence'],
  verify: ['验证', 'Verify'],
  verifying: ['正在浏览器中验证…', 'Verifying in the browser…'],
  trustedHash: ['可信区块哈希（来自您自己的节点）', 'Trusted block hash (from your own peer)'],
  trustedHashHelp: ['验证在本浏览器中运行，只信任此哈希，不信任服务器。', 'The check runs in this browser and trusts only this hash, not the server.'],
  verified: ['验证通过：每项检查均通过。', 'Verified: every check passed.'],
  notVerified: ['验证失败', 'Verification failed'],
  check: ['检查项', 'Check'],
  result: ['结果', 'Result'],
  pass: ['通过', 'pass'],
  fail: ['失败', 'fail'],
  skipped: ['跳过', 'skipped'],
  failedFiles: ['未通过的证据文件', 'Evidence files that failed'],
  loading: ['加载中…', 'Loading…'],
  notAllowed: ['您的角色无权查看此页面。', 'Your role may not see this view.'],
} as const satisfies Record<string, readonly [string, string]>;

export type Label = keyof typeof LABELS;

export const LangContext = createContext<Lang>('zh');

export function translate(lang: Lang, key: Label): string {
  return LABELS[key][lang === 'zh' ? 0 : 1];
}

export function useT(): (key: Label) => string {
  const lang = useContext(LangContext);
  return (key) => translate(lang, key);
}

export const LABEL_KEYS = Object.keys(LABELS) as Label[];
