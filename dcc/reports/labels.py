"""Chinese names of the domain's codes, as the dealership staff know them (reports, exports)."""

from __future__ import annotations

from dcc.leads.models import Channel, Grade, LeadStatus, LostReason

CHANNEL = {
    Channel.WALK_IN: "展厅到店",
    Channel.SHOWROOM_PHONE: "展厅来电",
    Channel.HOTLINE: "400 热线",
    Channel.WEB: "官网/微信",
    Channel.PORTAL: "网络平台",
    Channel.OEM: "厂家线索",
    Channel.EVENT: "车展/外展",
    Channel.REFERRAL: "转介绍",
    Channel.REPURCHASE: "续购",
}
STATUS = {
    LeadStatus.NEW: "新线索",
    LeadStatus.CONTACTING: "联系中",
    LeadStatus.INVITED: "已邀约",
    LeadStatus.ARRIVED: "已到店",
    LeadStatus.ORDERED: "已成交",
    LeadStatus.DELIVERED: "已交车",
    LeadStatus.LOST: "战败",
    LeadStatus.INVALID: "无效",
    LeadStatus.DUPLICATE: "重复",
    LeadStatus.DORMANT: "休眠",
}
GRADE = {
    Grade.N: "N 新线索",
    Grade.H: "H 7天内",
    Grade.A: "A 1个月内",
    Grade.B: "B 1-3个月",
    Grade.C: "C 3个月以上",
    Grade.O: "O 已订车",
    Grade.F: "F 战败",
}
LOST_REASON = {
    LostReason.BUDGET: "预算不足",
    LostReason.COMPETITOR: "购买竞品",
    LostReason.SAME_BRAND_ELSEWHERE: "同城同品",
    LostReason.PRICE: "价格",
    LostReason.CONFIGURATION: "配置",
    LostReason.DESIGN: "外观设计",
    LostReason.SERVICE: "服务体验",
    LostReason.FINANCING: "金融方案",
    LostReason.PLAN_CHANGED: "购车计划变更",
    LostReason.DELIVERY_TIME: "交车时间",
}
UNASSIGNED = "未分配"
UNKNOWN_MODEL = "未填写"
ALL = "全部"
TOTAL = "合计"
