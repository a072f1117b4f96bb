"""The 7-step invitation script (DCC 7步邀约成交法): default text, versions, filling in."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dcc.callscripts.models import CallScript
from dcc.errors import ValidationError

INVITATION = "invitation"

#: Placeholders an agent's screen fills in from the lead, the agent and the dealer.
PLACEHOLDERS = (
    "customer_name",
    "model",
    "agent_name",
    "dealer_name",
    "consultant_name",
    "visit_time_1",
    "visit_time_2",
    "source",
)

DEFAULT_STEPS: list[dict[str, str]] = [
    {
        "title": "准备",
        "text": "拨打前查看：线索来源 {source}，意向车型 {model}，历史跟进记录。",
    },
    {
        "title": "问候/自报家门",
        "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，您在{source}咨询过"
        "{model}，现在方便占用您两分钟吗？本次通话可能会被录音。",
    },
    {
        "title": "需求探询",
        "text": "请问您主要关注{model}的哪些方面？预算大概多少？打算什么时候购车？"
        "考虑全款还是贷款？有没有旧车需要置换？",
    },
    {
        "title": "邀约理由",
        "text": "{model}现在店里有现车，可以安排试驾；本周末还有到店活动，旧车也可以免费评估。",
    },
    {
        "title": "邀约",
        "text": "您看是{visit_time_1}方便，还是{visit_time_2}方便？我请销售顾问"
        "{consultant_name}专门为您接待。",
    },
    {
        "title": "异议处理",
        "text": "理解您的顾虑。……（回应后）所以还是建议您到店亲自体验，您看{visit_time_1}可以吗？",
    },
    {
        "title": "确认",
        "text": "和您确认一下：{visit_time_1}，地址是{dealer_name}展厅，由{consultant_name}接待。"
        "稍后会给您发送确认短信，到店前我们也会提醒您。",
    },
]


def active(session: Session, name: str = INVITATION) -> CallScript | None:
    """The newest active version of the script."""
    return session.scalar(
        select(CallScript)
        .where(CallScript.name == name, CallScript.is_active.is_(True))
        .order_by(CallScript.version.desc())
        .limit(1)
    )


def save_version(
    session: Session,
    steps: list[dict[str, Any]],
    *,
    name: str = INVITATION,
    author_id: int | None = None,
) -> CallScript:
    """Store ``steps`` as the next version; earlier versions stay for calls that used them."""
    _check_steps(steps)
    latest = session.scalar(select(func.max(CallScript.version)).where(CallScript.name == name))
    session.execute(update(CallScript).where(CallScript.name == name).values(is_active=False))
    script = CallScript(name=name, version=(latest or 0) + 1, steps=steps, created_by_id=author_id)
    session.add(script)
    session.flush()
    return script


def ensure_default(session: Session) -> CallScript:
    return active(session) or save_version(session, DEFAULT_STEPS)


def _check_steps(steps: list[dict[str, Any]]) -> None:
    if not steps:
        raise ValidationError("script.no_steps", field="steps")
    for index, step in enumerate(steps):
        if not str(step.get("title", "")).strip() or not str(step.get("text", "")).strip():
            raise ValidationError("script.step_incomplete", field="steps", step=index + 1)
        for _, placeholder, _, _ in string.Formatter().parse(step["text"]):
            if placeholder is not None and placeholder not in PLACEHOLDERS:
                raise ValidationError(
                    "script.unknown_placeholder",
                    field="steps",
                    step=index + 1,
                    placeholder=placeholder,
                )


def fill(script: CallScript, values: Mapping[str, str]) -> list[dict[str, str]]:
    """The steps with every placeholder replaced; unknown values read as a dash."""

    class _Defaults(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "—"

    data = _Defaults({k: v for k, v in values.items() if v})
    return [
        {"title": step["title"], "text": step["text"].format_map(data)} for step in script.steps
    ]
