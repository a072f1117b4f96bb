"""The one table of names for every enumerated value: channels, statuses, grades, roles …

Each value has one name in Chinese (the dealership's own word, DOMAIN.md) and one in English.
A :class:`Label` *is* its Chinese string, so reports, Excel exports and the JSON API write it as
they always have; a page shows :attr:`Label.en` to a reader who chose English. Pages, reports,
exports and the API's display names all read this table: one name per value, everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from dcc.calls.models import CallDirection, CallStatus
from dcc.customers.models import CustomerKind
from dcc.leads.closing import CloseReason
from dcc.leads.models import (
    CallbackStatus,
    Channel,
    FollowUpStatus,
    Grade,
    LeadStatus,
    LostReason,
    LostRequestStatus,
    ValueTier,
)
from dcc.sales.models import AppointmentStatus, OrderStatus
from dcc.users.models import AgentStatus, Role


class Label(str):
    """A value's name: the string is the Chinese; ``en`` is the English."""

    en: str

    def __new__(cls, zh: str, en: str) -> Label:
        label = super().__new__(cls, zh)
        label.en = en
        return label

    @property
    def zh(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:  # copies (dataclasses.asdict) keep the English
        return (Label, (self.zh, self.en))

    def in_language(self, language: str) -> str:
        """The name for a reader of ``language`` (``"zh"``, ``"en"`` …); Chinese by default."""
        return self.en if language == "en" else self.zh


def in_language(value: Any, language: str) -> str:
    """A label in ``language``; anything else (a name, a model: the dealer's data) as it is."""
    return value.in_language(language) if isinstance(value, Label) else str(value)


CHANNEL = {
    Channel.WALK_IN: Label("展厅到店", "Showroom walk-in"),
    Channel.SHOWROOM_PHONE: Label("展厅来电", "Showroom phone-in"),
    Channel.HOTLINE: Label("400热线", "400 hotline"),
    Channel.WEB: Label("官网/微信", "Website / WeChat"),
    Channel.PORTAL: Label("汽车网站", "Car portal"),
    Channel.OEM: Label("厂家线索", "OEM lead"),
    Channel.EVENT: Label("车展/外展", "Event"),
    Channel.REFERRAL: Label("转介绍", "Referral"),
    Channel.REPURCHASE: Label("续购", "Repurchase"),
}
VALUE_TIER = {
    ValueTier.HIGH: Label("高价值客户", "High-value customer"),
    ValueTier.VALUE: Label("价值客户", "Value customer"),
    ValueTier.GENERAL: Label("一般客户", "General customer"),
}
GRADE = {
    Grade.N: Label("N 新线索", "N: new lead"),
    Grade.H: Label("H 7天内", "H: in 7 days"),
    Grade.A: Label("A 1个月内", "A: in 1 month"),
    Grade.B: Label("B 1-3个月", "B: 1-3 months"),
    Grade.C: Label("C 3个月以上", "C: 3+ months"),
    Grade.O: Label("O 已订车", "O: ordered"),
    Grade.F: Label("F 战败", "F: lost"),
}
LEAD_STATUS = {
    LeadStatus.NEW: Label("新线索", "New"),
    LeadStatus.CONTACTING: Label("跟进中", "Contacting"),
    LeadStatus.INVITED: Label("已邀约", "Invited"),
    LeadStatus.ARRIVED: Label("已到店", "Arrived"),
    LeadStatus.ORDERED: Label("已成交", "Ordered"),
    LeadStatus.DELIVERED: Label("已交车", "Delivered"),
    LeadStatus.LOST: Label("战败", "Lost"),
    LeadStatus.INVALID: Label("无效", "Invalid"),
    LeadStatus.DUPLICATE: Label("重复", "Duplicate"),
    LeadStatus.DORMANT: Label("休眠", "Dormant"),
}
LOST_REASON = {
    LostReason.BUDGET: Label("预算不足", "Budget too low"),
    LostReason.COMPETITOR: Label("购买竞品", "Bought a competitor"),
    LostReason.SAME_BRAND_ELSEWHERE: Label("同城同品", "Same brand elsewhere"),
    LostReason.PRICE: Label("价格", "Price"),
    LostReason.CONFIGURATION: Label("配置", "Configuration"),
    LostReason.DESIGN: Label("外观设计", "Design"),
    LostReason.SERVICE: Label("服务体验", "Service experience"),
    LostReason.FINANCING: Label("金融方案", "Financing"),
    LostReason.PLAN_CHANGED: Label("购车计划变更", "Plan changed"),
    LostReason.DELIVERY_TIME: Label("交车时间", "Delivery time"),
}
#: Whether a loss was outside the dealer's reach (objective) or not (subjective).
LOST_KIND = {
    "objective": Label("客观", "Objective"),
    "subjective": Label("主观", "Subjective"),
}
FOLLOW_UP_STATUS = {
    FollowUpStatus.OPEN: Label("待跟进", "Pending"),
    FollowUpStatus.DONE: Label("已完成", "Done"),
    FollowUpStatus.CANCELED: Label("已取消", "Canceled"),
}
CALLBACK_STATUS = {
    CallbackStatus.PENDING: Label("待回电", "Pending"),
    CallbackStatus.DONE: Label("已回电", "Done"),
    CallbackStatus.CANCELED: Label("已取消", "Canceled"),
}
#: Why a callback is owed (``callbacks.reason``).
CALLBACK_REASON = {
    "missed_call": Label("未接来电", "Missed call"),
    "after_hours": Label("非工作时间来电", "After-hours call"),
    "retry": Label("重拨", "Retry"),
    "scheduled": Label("预约回电", "Scheduled"),
    "queue_callback": Label("排队转回电", "Callback from the queue"),
    "fallback": Label("系统故障来电", "Call during an outage"),
}
LOST_REQUEST_STATUS = {
    LostRequestStatus.PENDING: Label("待审批", "Pending"),
    LostRequestStatus.APPROVED: Label("已确认战败", "Confirmed"),
    LostRequestStatus.REJECTED: Label("已驳回", "Rejected"),
}
#: Why a lead waits in a manager's queue (``leads.escalation``).
ESCALATION = {
    "unreachable": Label("客户多次未接通", "Customer unreachable"),
    "no_show_30d": Label("邀约超30天未到店", "Invited over 30 days, never came"),
}
CUSTOMER_KIND = {
    CustomerKind.INDIVIDUAL: Label("个人", "Individual"),
    CustomerKind.FLEET: Label("批售客户", "Fleet customer"),
}
ROLE = {
    Role.CLERK: Label("信息员", "Information clerk"),
    Role.CONSULTANT: Label("销售顾问", "Sales consultant"),
    Role.DCC_AGENT: Label("DCC坐席", "DCC agent"),
    Role.MANAGER: Label("销售经理", "Sales manager"),
    Role.SUPERVISOR: Label("DCC主管", "DCC supervisor"),
    Role.ADMIN: Label("管理员", "Admin"),
}
AGENT_STATUS = {
    AgentStatus.AVAILABLE: Label("空闲", "Available"),
    AgentStatus.ON_CALL: Label("通话中", "On call"),
    AgentStatus.WRAP_UP: Label("话后处理", "Wrap-up"),
    AgentStatus.AWAY: Label("离开", "Away"),
    AgentStatus.OFFLINE: Label("离线", "Offline"),
}
CALL_DIRECTION = {
    CallDirection.INBOUND: Label("呼入", "Inbound"),
    CallDirection.OUTBOUND: Label("呼出", "Outbound"),
}
CALL_STATUS = {
    CallStatus.QUEUED: Label("排队中", "Queued"),
    CallStatus.INITIATED: Label("呼叫中", "Dialling"),
    CallStatus.RINGING: Label("振铃中", "Ringing"),
    CallStatus.IN_PROGRESS: Label("通话中", "Talking"),
    CallStatus.COMPLETED: Label("已结束", "Ended"),
    CallStatus.BUSY: Label("忙线", "Busy"),
    CallStatus.FAILED: Label("失败", "Failed"),
    CallStatus.NO_ANSWER: Label("未接听", "No answer"),
    CallStatus.CANCELED: Label("已取消", "Canceled"),
}
#: The two legs of a bridged call.
CALL_LEG = {
    "agent": Label("坐席", "Agent"),
    "customer": Label("客户", "Customer"),
}
APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: Label("已预约", "Booked"),
    AppointmentStatus.ARRIVED: Label("已到店", "Arrived"),
    AppointmentStatus.NO_SHOW: Label("未到店", "No show"),
    AppointmentStatus.CANCELED: Label("已取消", "Canceled"),
}
ORDER_STATUS = {
    OrderStatus.ORDERED: Label("已订车", "Ordered"),
    OrderStatus.DELIVERED: Label("已交车", "Delivered"),
    OrderStatus.CANCELED: Label("已取消", "Canceled"),
}
#: A showroom visit: the customer's first, or a return.
VISIT_KIND = {
    "first": Label("首次到店", "First visit"),
    "return": Label("再次到店", "Return visit"),
}
#: What a row of an agent's work list is.
WORK_KIND = {
    "new_lead": Label("新线索", "New lead"),
    "callback": Label("回电", "Callback"),
    "follow_up": Label("跟进", "Follow-up"),
}
#: Where a text message stands (``sent_messages.status``).
SMS_STATUS = {
    "sending": Label("发送中", "Sending"),
    "sent": Label("已发送", "Sent"),
    "failed": Label("发送失败", "Failed"),
}
#: What the lead's next action says (``leads.next_action``, stored in the trade's words).
NEXT_ACTION = {
    "首次联系": Label("首次联系", "First contact"),
    "跟进回访": Label("跟进回访", "Follow-up call"),
    "再次邀约": Label("再次邀约", "Invite again"),
}
#: The kinds of call a script is worded for (``calls.script_variant``).
SCRIPT_VARIANT = {
    "inbound_first": Label("来电：首次来电", "Inbound: first call"),
    "inbound_known": Label("来电：老客户", "Inbound: known customer"),
    "new_lead": Label("新线索首次联系", "First contact of a new lead"),
    "follow_up": Label("跟进回访", "Follow-up"),
    "invitation": Label("邀约到店", "Invitation"),
    "confirmation": Label("预约确认", "Appointment confirmation"),
    "no_show": Label("未到店再邀约", "No-show re-invitation"),
    "repurchase": Label("增购/换购", "Repurchase"),
}
#: What a notification is about (``notifications.kind``).
NOTIFICATION_KIND = {
    "arrival": Label("到店提醒", "Arrival"),
    "new_lead": Label("新线索", "New lead"),
    "callback_due": Label("回电到期", "Callback due"),
    "callback_open": Label("回电可领取", "Callback open to the team"),
    "sla_first_response": Label("首次响应超时", "First response overdue"),
    "lead_reopened": Label("休眠客户重新联系", "Dormant lead back"),
    "unassigned_lead": Label("新线索无人负责", "New lead with no owner"),
    "unreachable": ESCALATION["unreachable"],
    "follow_up_due": Label("跟进到期", "Follow-up due"),
    "follow_up_overdue": Label("跟进逾期", "Follow-up overdue"),
    "no_show_30d": ESCALATION["no_show_30d"],
    "no_show": Label("未按预约到店：请再次邀约", "Missed visit: invite again"),
    "invalid_number": Label("无效号码：线索已关闭", "Invalid number: lead closed"),
    "loop_violations": Label("闭环检查发现断点", "Loop check found broken links"),
}
#: Why a follow-up was planned, when it is not the grade's rule (``follow_ups.purpose``).
FOLLOW_UP_PURPOSE = {
    "re_invite": Label("再次邀约", "Invite again"),
    "delivery": Label("跟进至交车", "Until delivery"),
}
#: Why a lead's open work was released (``leads.close_reason``).
CLOSE_REASON = {
    CloseReason.LOST: Label("战败", "Lost"),
    CloseReason.INVALID: Label("无效", "Invalid"),
    CloseReason.MERGED: Label("已合并", "Merged"),
    CloseReason.DELIVERED: Label("已交车", "Delivered"),
    CloseReason.DORMANT: Label("休眠", "Dormant"),
}
#: The kinds of broken link the loop audit reports (``dcc.loop.audit``).
LOOP_KIND = {
    "lead_without_owner": Label("未关闭线索无负责人", "Open lead without an owner"),
    "lead_without_next_action": Label("未关闭线索无下一步行动", "Open lead without a next action"),
    "callback_overdue": Label("回电逾期", "Callback overdue"),
    "appointment_unresolved": Label(
        "预约时间已过，未登记到店或爽约", "Visit passed, neither arrived nor no-show"
    ),
    "order_without_delivery_date": Label("订单无预计交车日期", "Order without a delivery date"),
    "job_for_closed_lead": Label("已关闭线索仍有待办", "Work pending for a closed lead"),
    "customer_with_two_open_leads": Label(
        "同一客户有两条未关闭线索", "Customer with two open leads"
    ),
}
#: How a report groups its rows (``dcc.reports.period.Group``'s values).
REPORT_GROUP = {
    "agent": Label("按坐席", "By agent"),
    "source": Label("按来源", "By source"),
    "model": Label("按车型", "By model"),
}

# The fixed words a report writes into its rows: the totals line, a row without a group.
TOTAL = Label("合计", "Total")
ALL = Label("全部", "All")
UNASSIGNED = Label("未分配", "Unassigned")
NOT_GIVEN = Label("未填写", "Not given")
REPORT_WORDS = {"total": TOTAL, "all": ALL, "unassigned": UNASSIGNED, "not_given": NOT_GIVEN}

#: The input fields an error can point at (``error.field``), as a message names them.
FIELD = {
    "phone": Label("电话", "Phone"),
    "alt_phone": Label("备用电话", "Second phone"),
    "name": Label("姓名", "Name"),
    "email": Label("邮箱", "E-mail"),
    "city": Label("城市", "City"),
    "brand": Label("品牌", "Brand"),
    "series": Label("意向车型", "Model of interest"),
    "model": Label("车型", "Model"),
    "model_year": Label("年款", "Model year"),
    "budget": Label("预算", "Budget"),
    "purchase_timeframe": Label("购车时间", "Purchase timeframe"),
    "comments": Label("备注", "Comments"),
    "consent": Label("授权同意", "Consent"),
    "external_id": Label("外部编号", "External id"),
    "channel": Label("来源渠道", "Channel"),
    "grade": Label("意向级别", "Grade"),
    "lost_reason": Label("战败原因", "Lost reason"),
    "reason": Label("原因", "Reason"),
    "owner_id": Label("负责人", "Owner"),
    "customer_ids": Label("客户", "Customers"),
    "from": Label("开始日期", "From"),
    "to": Label("结束日期", "To"),
    "group": Label("分组", "Group"),
    "timezone": Label("时区", "Time zone"),
    "party_size": Label("人数", "Party size"),
    "slug": Label("标识", "Slug"),
    "secret": Label("密钥", "Secret"),
    "auth_mode": Label("认证方式", "Authentication"),
    "step": Label("步骤", "Step"),
    "comment": Label("批复", "Comment"),
    "result": Label("跟进结果", "Result"),
    "login": Label("账号", "Login"),
    "role": Label("角色", "Role"),
}

#: Every table by the name templates use (``{{ lead.status | label('lead_status') }}``).
TABLES: dict[str, Mapping[Any, Label]] = {
    "channel": CHANNEL,
    "value_tier": VALUE_TIER,
    "grade": GRADE,
    "lead_status": LEAD_STATUS,
    "lost_reason": LOST_REASON,
    "lost_kind": LOST_KIND,
    "follow_up_status": FOLLOW_UP_STATUS,
    "callback_status": CALLBACK_STATUS,
    "callback_reason": CALLBACK_REASON,
    "lost_request_status": LOST_REQUEST_STATUS,
    "escalation": ESCALATION,
    "customer_kind": CUSTOMER_KIND,
    "role": ROLE,
    "agent_status": AGENT_STATUS,
    "direction": CALL_DIRECTION,
    "call_status": CALL_STATUS,
    "leg": CALL_LEG,
    "appointment_status": APPOINTMENT_STATUS,
    "order_status": ORDER_STATUS,
    "follow_up_purpose": FOLLOW_UP_PURPOSE,
    "close_reason": CLOSE_REASON,
    "loop_kind": LOOP_KIND,
    "visit_kind": VISIT_KIND,
    "work": WORK_KIND,
    "script_variant": SCRIPT_VARIANT,
    "next_action": NEXT_ACTION,
    "sms_status": SMS_STATUS,
    "notification": NOTIFICATION_KIND,
    "report_group": REPORT_GROUP,
    "report_word": REPORT_WORDS,
    "field": FIELD,
}
#: The table of each enum of the models.
BY_ENUM: dict[type[enum.Enum], Mapping[Any, Label]] = {
    Channel: CHANNEL,
    ValueTier: VALUE_TIER,
    Grade: GRADE,
    LeadStatus: LEAD_STATUS,
    LostReason: LOST_REASON,
    FollowUpStatus: FOLLOW_UP_STATUS,
    CallbackStatus: CALLBACK_STATUS,
    LostRequestStatus: LOST_REQUEST_STATUS,
    CustomerKind: CUSTOMER_KIND,
    Role: ROLE,
    AgentStatus: AGENT_STATUS,
    CallDirection: CALL_DIRECTION,
    CallStatus: CALL_STATUS,
    AppointmentStatus: APPOINTMENT_STATUS,
    OrderStatus: ORDER_STATUS,
    CloseReason: CLOSE_REASON,
}


def of(member: enum.Enum) -> Label:
    """The name of an enum member of the models (``labels.of(Channel.WEB)`` -> 官网/微信)."""
    return BY_ENUM[type(member)][member]


def label(value: Any, table: str) -> Label | str:
    """The name of a code (an enum member or its value) in ``table``; the code when unnamed."""
    code = getattr(value, "value", value)
    if code is None:
        return ""
    return TABLES[table].get(code, str(code))


def display_names(language: str | None = None) -> dict[str, dict[str, Any]]:
    """Every table as plain data: ``{table: {code: {"zh", "en"}}}``, or one language's names."""
    out: dict[str, dict[str, Any]] = {}
    for name, table in TABLES.items():
        out[name] = {
            str(getattr(code, "value", code)): (
                label.in_language(language) if language else {"zh": label.zh, "en": label.en}
            )
            for code, label in table.items()
        }
    return out
