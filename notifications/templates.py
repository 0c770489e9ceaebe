"""The messages donors receive: Chinese texts, each with its category and its variables.

Every text is a Jinja2 template rendered with StrictUndefined, and its variables are declared:
a context that misses one or brings one more is refused before anything is written, so a
donor never receives "您好，{{ name }}". The sender's signature (`SMS_SIGNATURE`, in 【】)
leads every message, as Chinese carriers require.

A text is true on the day it is sent, not only on the day it is written: a thank-you recorded at
22:30 goes out the next morning, a reminder may wait out a retry. Days are given to a template as
dates and written with the `day` filter ("今天", "明天", or "6月14日", counted from the day the
text is sent), times with `moment` ("10:30" that day, "6月15日08:30" another). A template that
uses them is `dated`: the outbox keeps its variables and renders it again when it is sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from jinja2 import Environment, StrictUndefined, meta, nodes, pass_context

from core import clock
from notifications.models import OutboxMessage

# Categories decide the manners. `security` messages are urgent: never held back by quiet hours,
# caps or opt-outs. `urgent_call_out` is an emergency team's urgent call-out (issue 19): a patient
# needs blood now, so it goes in the night and past the weekly caps, to members who joined a team
# with consent for exactly that (its text says it is urgent). `transactional` ones concern
# something the donor did (never opted out of, never capped) but wait out the night. `care` ones
# tell a donor of a right they hold at a moment of need (a hospital admitted them or a relative):
# they wait out the night and can be turned off with the reminders, but no count of other
# messages holds them back. The rest are non-urgent, capped, and can be turned off.
SECURITY = "security"
URGENT_CALL_OUT = "urgent_call_out"
TRANSACTIONAL = "transactional"
CARE = "care"
REMINDER = "reminder"
GREETING = "greeting"
APPEAL = "appeal"
CATEGORIES = (SECURITY, URGENT_CALL_OUT, TRANSACTIONAL, CARE, REMINDER, GREETING, APPEAL)
URGENT = (SECURITY, URGENT_CALL_OUT)
CAPPED = (REMINDER, GREETING, APPEAL)
# category -> the preference that turns it off
OPT_OUTS = {CARE: "reminders", REMINDER: "reminders", GREETING: "greetings", APPEAL: "appeals"}

_env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
# The day a text is rendered for, handed to the filters beside the template's own variables.
_SEND_DAY = "_send_day"


def _local(value: date | datetime | str) -> date | datetime:
    """A context value as a local date or time (the outbox keeps them as ISO text)."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    return clock.to_local(value) if isinstance(value, datetime) else value


def month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


@pass_context
def _day(context: Any, value: date | datetime | str, dated: bool = False) -> str:
    """今天 or 明天 counted from the day the text is sent (with the date in brackets if
    `dated`), else the date: a text read the next morning must not say "today"."""
    day = _local(value)
    day = day.date() if isinstance(day, datetime) else day
    sent = context[_SEND_DAY]
    word = {sent: "今天", sent + timedelta(days=1): "明天"}.get(day)
    if word is None:
        return month_day(day)
    return f"{word}（{month_day(day)}）" if dated else word


@pass_context
def _moment(context: Any, value: datetime | str) -> str:
    """A local time: "10:30" on the day it is sent, "6月15日08:30" on another."""
    moment = _local(value)
    if not isinstance(moment, datetime):
        raise TypeError(f"a time is needed here, not the day {value!r}")
    if moment.date() == context[_SEND_DAY]:
        return f"{moment:%H:%M}"
    return f"{month_day(moment.date())}{moment:%H:%M}"


DAY_FILTERS = {"day": _day, "moment": _moment}
_env.filters.update(DAY_FILTERS)


def _is_dated(text: str) -> bool:
    return any(node.name in DAY_FILTERS for node in _env.parse(text).find_all(nodes.Filter))


SALUTATION = "{% if name %}{{ name }}，{% endif %}"


@dataclass(frozen=True)
class MessageTemplate:
    code: str
    category: str
    text: str
    variables: frozenset[str]
    sample: dict[str, Any]
    sensitive: bool = False
    dated: bool = False  # names a day or a time relative to the day it is sent

    def __post_init__(self) -> None:
        found = meta.find_undeclared_variables(_env.parse(self.text))
        if found != self.variables:
            raise ValueError(
                f"template {self.code}: uses {sorted(found)}, declares {self.variables}"
            )
        if set(self.sample) != self.variables:
            raise ValueError(f"template {self.code}: the sample does not match the variables")
        if self.category not in CATEGORIES:
            raise ValueError(f"template {self.code}: unknown category {self.category}")


def _template(
    code: str, category: str, text: str, sample: dict[str, Any], *, sensitive: bool = False
) -> MessageTemplate:
    return MessageTemplate(
        code, category, text, frozenset(sample), sample, sensitive, dated=_is_dated(text)
    )


# An emergency team's call-out (issue 19): a drill says it is one and, unless it asks members to
# come, that nobody needs to; the reply link answers coming (with a time) or not now.
_CALL_OUT_BODY = (
    "{% if drill and not come %}"
    "这是一次演练，无需前往献血点，请点链接回复您此刻能否在{{ needed_by|moment }}前赶到"
    "{{ site }}：{{ url }}"
    "{% else %}"
    "{{ site }}（{{ address }}）需要{{ group }}献血者{{ kind_name }}，"
    "请于{{ needed_by|moment }}前到达。能否前来，请点链接回复：{{ url }}"
    "{% endif %}"
)
_CALL_OUT_SAMPLE = {
    "name": "张伟",
    "drill": False,
    "come": True,
    "site": "杭州市武林献血屋",
    "address": "杭州市下城区武林路1号",
    "group": "O型RhD阴性",
    "kind_name": "捐献全血",
    "needed_by": datetime(2026, 6, 14, 4, 0, tzinfo=UTC),
    "url": "https://example.cn/c/Qx3vJ9mZ2kLw8rT5yN1aBc",
}
# The rest of those called, once enough said they are coming, or the call-out ended.
_STAND_DOWN_BODY = (
    "感谢您响应{{ site }}的{{ group }}献血召集{% if drill %}（演练）{% endif %}。"
    "{% if ending == 'filled' %}所需献血者已经落实{% elif ending == 'cancelled' %}本次召集已取消"
    "{% else %}本次召集已结束{% endif %}，您无需前来。谢谢您随时准备着！"
)
_STAND_DOWN_SAMPLE = {
    "name": "张伟",
    "site": "杭州市武林献血屋",
    "group": "O型RhD阴性",
    "drill": False,
    "ending": "filled",
}

TEMPLATES: dict[str, MessageTemplate] = {
    t.code: t
    for t in (
        _template(
            "otp",
            SECURITY,
            "您的验证码是{{ code }}，{{ minutes }}分钟内有效。请勿告诉他人。",
            {"code": "123456", "minutes": 5},
            sensitive=True,
        ),
        _template(
            "mobile_changed",
            SECURITY,
            "您的献血账户已更换绑定手机号。如非本人操作，请联系献血服务中心。",
            {},
        ),
        _template(
            "registration_for_registered_id",
            SECURITY,
            "有人用您的身份证号和手机号{{ mobile }}申请注册献血账户，未予办理，您的账户不受影响。"
            "如是您本人换了手机：原号码仍可用，请登录后更换；已停用，请携带身份证到任一献血点办理。",
            {"mobile": "139****0009"},
        ),
        _template(
            "thanks",
            TRANSACTIONAL,
            SALUTATION + "感谢您{{ donated_on|day }}无偿献血{{ amount }}！"
            "您的电子献血证{{ number }}已签发，可在此查验：{{ url }} 献血后请多饮水、注意休息。",
            {
                "name": "张伟",
                "donated_on": date(2026, 6, 14),
                "amount": "400毫升",
                "number": "2026-0000001",
                "url": "https://example.cn/v/2026-0000001",
            },
        ),
        _template(
            "donation_corrected",
            TRANSACTIONAL,
            SALUTATION + "您{{ donated_on|day }}的献血记录已更正为{{ amount }}，"
            "电子献血证改为{{ number }}（原证作废），可在此查验：{{ url }}",
            {
                "name": "张伟",
                "donated_on": date(2026, 6, 14),
                "amount": "300毫升",
                "number": "2026-0000002",
                "url": "https://example.cn/v/2026-0000002",
            },
        ),
        _template(
            "unit_issued",
            TRANSACTIONAL,
            SALUTATION + "您{{ donated_on }}捐献的血液已于{{ issued_on }}送往{{ hospital }}，"
            "正在帮助需要它的患者。谢谢您！",
            {
                "name": "张伟",
                "donated_on": "5月3日",
                "issued_on": "5月9日",
                "hospital": "浙江大学医学院附属第一医院",
            },
        ),
        _template(
            "blood_fee_settled",
            TRANSACTIONAL,
            SALUTATION + "{{ for_whom }}在{{ hospital }}的临床用血费用已按您的无偿献血"
            "减免{{ amount }}（{{ covered }}）。{{ remaining }}"
            "如非本人或家属用血，请联系献血服务中心。",
            {
                "name": "张伟",
                "for_whom": "您的配偶",
                "hospital": "浙江大学医学院附属第一医院",
                "amount": "360.00元",
                "covered": "400毫升",
                "remaining": "在本地区医院还可免费用血400毫升。",
            },
            sensitive=True,
        ),
        _template(
            "blood_fee_reversed",
            TRANSACTIONAL,
            SALUTATION + "{{ for_whom }}在{{ hospital }}的临床用血费用减免{{ amount }}"
            "（{{ covered }}）已撤销，相应的免费用血量已恢复。如有疑问，请联系献血服务中心。",
            {
                "name": "张伟",
                "for_whom": "您的配偶",
                "hospital": "浙江大学医学院附属第一医院",
                "amount": "360.00元",
                "covered": "400毫升",
            },
            sensitive=True,
        ),
        _template(
            "appointment_reminder",
            TRANSACTIONAL,
            SALUTATION + "提醒您{{ day|day(dated=True) }}{{ time }}在{{ site }}献血。"
            "请带好身份证，前一晚休息好、清淡饮食。如需改期请在小程序中操作。",
            {"name": "张伟", "day": date(2026, 6, 14), "time": "09:30", "site": "杭州市武林献血屋"},
        ),
        _template(
            "booking_cancelled_by_site",
            TRANSACTIONAL,
            SALUTATION + "很抱歉，您{{ day|day(dated=True) }}{{ time }}在{{ site }}的献血预约"
            "因献血点调整已取消，欢迎在小程序中另约时间。",
            {"name": "张伟", "day": date(2026, 6, 14), "time": "09:30", "site": "杭州市武林献血屋"},
        ),
        _template(
            "waitlist_offer",
            TRANSACTIONAL,
            SALUTATION + "{{ site }}{{ day|day(dated=True) }}{{ time }}有献血名额空出，"
            "已为您保留至{{ until|moment }}，请在小程序中确认，逾时顺延给下一位。",
            {
                "name": "张伟",
                "site": "杭州市武林献血屋",
                "day": date(2026, 6, 14),
                "time": "09:30",
                "until": datetime(2026, 6, 13, 2, 30, tzinfo=UTC),
            },
        ),
        _template(
            "admission_care",
            CARE,
            SALUTATION + "得知您在{{ hospital }}住院，祝您早日康复。作为无偿献血者，您"
            "{% if unlimited %}终身免费用血、不限量{% else %}目前尚可免费用血{{ remaining_ml }}毫升"
            "{% endif %}，结算时由该院收费处直接减免，无需自行报销。",
            {
                "name": "张伟",
                "hospital": "浙江大学医学院附属第一医院",
                "unlimited": False,
                "remaining_ml": 1000,
            },
        ),
        _template(
            "admission_care_relative",
            CARE,
            SALUTATION + "得知您的{{ relation }}在{{ hospital }}住院，祝早日康复。凭您的无偿献血，"
            "您的{{ relation }}{% if unlimited %}可免费用血、不限量{% else %}目前尚可免费用血"
            "{{ remaining_ml }}毫升{% endif %}，结算时由该院收费处直接减免，无需自行报销。",
            {
                "name": "张伟",
                "relation": "配偶",
                "hospital": "浙江大学医学院附属第一医院",
                "unlimited": False,
                "remaining_ml": 800,
            },
        ),
        _template(
            "blood_fee_claim_approved",
            TRANSACTIONAL,
            SALUTATION + "您为{{ patient }}申请的用血费用报销（票据号{{ bill }}）已审核通过，"
            "核准减免{{ amount }}，款项将按您预留的方式支付。",
            {"name": "张伟", "patient": "本人", "bill": "ZY2026001234", "amount": "1280.00元"},
        ),
        _template(
            "blood_fee_claim_rejected",
            TRANSACTIONAL,
            SALUTATION + "您为{{ patient }}申请的用血费用报销（票据号{{ bill }}）未获通过，"
            "原因：{{ reason }}。可在小程序中查看并重新申请。",
            {"name": "张伟", "patient": "您的配偶", "bill": "ZY2026001234", "reason": "票据不清晰"},
        ),
        _template(
            "blood_fee_claim_paid",
            TRANSACTIONAL,
            SALUTATION + "您为{{ patient }}申请的用血费用报销（票据号{{ bill }}）"
            "已支付{{ amount }}，请注意查收。",
            {"name": "张伟", "patient": "本人", "bill": "ZY2026001234", "amount": "1280.00元"},
        ),
        _template(
            "eligible_again",
            REMINDER,
            SALUTATION + "距您上次献血已满规定间隔，您现在可以再次{{ kind_name }}了。"
            "欢迎在小程序中预约。",
            {"name": "张伟", "kind_name": "捐献全血"},
        ),
        _template(
            "points_expiring",
            REMINDER,
            SALUTATION + "您有{{ points }}献血积分有效期至{{ last_day|day }}，"
            "逾期作废，欢迎在小程序积分商城兑换纪念品。",
            {"name": "张伟", "points": 40, "last_day": date(2026, 6, 14)},
        ),
        _template(
            "birthday",
            GREETING,
            SALUTATION + "生日快乐！感谢您用热血守护生命，愿您健康平安。",
            {"name": "张伟"},
        ),
        _template(
            "greeting_world_blood_donor_day",
            GREETING,
            "今天是世界献血者日。" + SALUTATION + "感谢您的无偿献血，让生命得以延续！",
            {"name": "张伟"},
        ),
        _template(
            "greeting_red_cross_day",
            GREETING,
            "今天是世界红十字日。" + SALUTATION + "感谢您以献血践行人道、博爱、奉献。",
            {"name": "张伟"},
        ),
        _template(
            "greeting_volunteer_day",
            GREETING,
            "今天是国际志愿者日。" + SALUTATION + "感谢您为无偿献血事业付出的时间和爱心！",
            {"name": "张伟"},
        ),
        _template(
            "call_out_urgent",
            URGENT_CALL_OUT,
            SALUTATION
            + "{% if drill %}【应急献血演练，非真实用血】{% else %}【紧急用血】{% endif %}"
            + _CALL_OUT_BODY,
            _CALL_OUT_SAMPLE,
        ),
        _template(
            "call_out",
            APPEAL,
            SALUTATION + "{% if drill %}【应急献血演练，非真实用血】{% endif %}" + _CALL_OUT_BODY,
            _CALL_OUT_SAMPLE,
        ),
        _template(
            "call_out_stand_down_urgent",
            URGENT_CALL_OUT,
            SALUTATION + _STAND_DOWN_BODY,
            _STAND_DOWN_SAMPLE,
        ),
        _template(
            "call_out_stand_down",
            TRANSACTIONAL,
            SALUTATION + _STAND_DOWN_BODY,
            _STAND_DOWN_SAMPLE,
        ),
        _template(
            "appeal",
            APPEAL,
            SALUTATION + "{{ city }}{{ group }}血库存偏紧，如身体允许请近期到就近献血点献血。"
            "可在小程序“消息设置”中关闭此类短信。",
            {"name": "张伟", "city": "杭州市", "group": "O型RhD阴性"},
        ),
    )
}


class TemplateError(ValueError):
    """A message cannot be rendered: unknown template, or variables missing or unexpected."""


def signature() -> str:
    value = current_app.config["SMS_SIGNATURE"]
    if not (value.startswith("【") and value.endswith("】") and len(value) > 2):
        raise TemplateError("SMS_SIGNATURE must be the sender's name in 【】")
    return value


def template(code: str) -> MessageTemplate:
    try:
        return TEMPLATES[code]
    except KeyError:
        raise TemplateError(f"no message template {code!r}") from None


def render(code: str, context: dict[str, Any], *, on: date | None = None) -> str:
    """The text as sent on the local day `on` (today if not given)."""
    spec = template(code)
    given = set(context)
    if given != spec.variables:
        missing, extra = spec.variables - given, given - spec.variables
        raise TemplateError(f"{code}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    send_day = on or clock.local_today()
    return signature() + _compiled(code).render(**context, **{_SEND_DAY: send_day})


@cache
def _compiled(code: str):
    return _env.from_string(TEMPLATES[code].text)


# GSM 03.38 basic set; any other character sends the whole message as UCS-2.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def segments(text: str) -> int:
    """SMS parts a text is sent in: UCS-2 holds 70 characters, 67 per part once split."""
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, per_part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2  # characters beyond the BMP take two
        single, per_part = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / per_part)


def _json_value(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be kept in a message's context")


def kept_context(context: dict[str, Any]) -> str:
    """A dated template's variables as the outbox keeps them (dates and times as ISO text)."""
    return json.dumps(context, default=_json_value, ensure_ascii=False, sort_keys=True)


def render_for_sending(row: OutboxMessage, on: date) -> str:
    """The row's text as it reads when sent on `on`: rendered again if its template is dated."""
    if row.context is None:
        if row.body is None:  # erased: the erasure cancels such rows before any worker sees them
            raise ValueError(f"outbox message {row.id} has no text to send")
        return row.body
    return render(row.template, json.loads(row.context), on=on)
