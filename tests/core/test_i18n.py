"""One language per response, from the gettext catalogue (issue 12, item 7).

Chinese unless `Accept-Language` prefers English; field messages from marshmallow and webargs
come from the catalogue with their figures, in the response's language.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import marshmallow as ma
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from marshmallow import fields, validate

from core.errors import rendered_errors
from core.i18n import Message, environment_language
from core.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
PACKAGES = (
    "core",
    "donors",
    "sites",
    "certificate",
    "appointments",
    "rewards",
    "notifications",
    "card",
)
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def catalogue() -> dict[str, str]:
    with CATALOGUE.open("rb") as stream:
        return {m.id: m.string for m in read_po(stream) if m.id and not m.fuzzy}


def texts(body) -> list[str]:
    """Every human-readable text of an error body: its message and its field messages."""
    found = [body["message"]]

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.append(value)

    walk(body.get("errors"))
    return found


def assert_all_chinese(body) -> None:
    for text in texts(body):
        assert HAN.search(text), text
        assert not LATIN_WORD.search(text.replace("UTF-8", "").replace("true 或 false", "")), text


def assert_all_english(body) -> None:
    for text in texts(body):
        assert not HAN.search(text), text


# ---------------------------------------------------------------- over HTTP


def test_a_page_size_above_the_limit_says_at_most_100_in_chinese_only(client):
    body = client.get("/api/v1/sites?per_page=1000").get_json()
    assert body["code"] == "validation_failed"
    assert body["errors"] == {"per_page": ["不能大于100。"]}
    assert_all_chinese(body)


def test_a_page_size_above_the_limit_says_at_most_100_in_english_when_preferred(client):
    body = client.get("/api/v1/sites?per_page=1000", headers=ENGLISH).get_json()
    assert body["message"] == "Some fields are invalid."
    assert body["errors"] == {"per_page": ["Must be at most 100."]}


def test_a_page_number_below_the_range_says_at_least_1(client):
    assert client.get("/api/v1/sites?page=0").get_json()["errors"] == {"page": ["不能小于1。"]}
    english = client.get("/api/v1/sites?page=0", headers=ENGLISH).get_json()
    assert english["errors"] == {"page": ["Must be at least 1."]}


@pytest.mark.parametrize(
    "body,chinese,english",
    [
        ({}, "此字段必填。", "This field is required."),
        ({"mobile": None}, "此字段不能为空。", "This field may not be empty."),
        ({"mobile": 13800000000}, "应为字符串。", "Must be a string."),
    ],
)
def test_stock_field_messages_follow_the_response_language(client, body, chinese, english):
    zh = client.post("/api/v1/auth/otp", json=body).get_json()
    en = client.post("/api/v1/auth/otp", json=body, headers=ENGLISH).get_json()
    assert zh["errors"] == {"mobile": [chinese]}
    assert en["errors"] == {"mobile": [english]}
    assert_all_chinese(zh)
    assert_all_english(en)


def test_an_unknown_field_is_named_in_the_response_language(client):
    body = {"mobile": "13800000000", "admin": True}
    zh = client.post("/api/v1/auth/otp", json=body).get_json()
    en = client.post("/api/v1/auth/otp", json=body, headers=ENGLISH).get_json()
    assert zh["errors"] == {"admin": ["未知字段。"]}
    assert en["errors"] == {"admin": ["Unknown field."]}


def test_a_body_that_is_not_an_object_is_told_so_in_one_language(client):
    zh = client.post("/api/v1/auth/otp", json=["13800000000"]).get_json()
    en = client.post("/api/v1/auth/otp", json=["13800000000"], headers=ENGLISH).get_json()
    assert zh["errors"] == {"_schema": ["应为对象。"]}
    assert en["errors"] == {"_schema": ["Must be an object."]}


def test_a_language_chosen_by_one_request_does_not_stick_to_the_next(client):
    client.get("/api/v1/sites?per_page=1000", headers=ENGLISH)
    body = client.get("/api/v1/sites?per_page=1000").get_json()
    assert body["errors"] == {"per_page": ["不能大于100。"]}


@pytest.mark.parametrize(
    "header,language",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en;q=0.5,zh;q=0.9", "zh"),
        ("fr-FR", "zh"),
        ("en-GB", "en"),
        ("en;q=0.9,zh;q=0.5", "en"),
    ],
)
def test_english_only_when_accept_language_prefers_it(client, header, language):
    body = client.get("/api/v1/me", headers={"Accept-Language": header}).get_json()
    assert body["message"] == {"zh": "请先登录。", "en": "Authentication is required."}[language]


# ---------------------------------------------------------------- validators, with their values


@pytest.mark.parametrize(
    "field,value,chinese,english",
    [
        (
            fields.String(validate=validate.OneOf(["A", "B"])),
            "C",
            "应为以下之一：A, B。",
            "Must be one of: A, B.",
        ),
        (
            fields.String(validate=validate.Length(min=1, max=5)),
            "",
            "不能为空。",
            "Must not be empty.",
        ),
        (
            fields.String(validate=validate.Length(min=1, max=5)),
            "abcdefg",
            "不能超过5个字符。",
            "Must be at most 5 characters long.",
        ),
        (
            fields.String(validate=validate.Length(min=3)),
            "ab",
            "至少需要3个字符。",
            "Must be at least 3 characters long.",
        ),
        (
            fields.String(validate=validate.Length(equal=6)),
            "12345",
            "应为6个字符。",
            "Must be exactly 6 characters long.",
        ),
        (
            fields.List(fields.Integer(), validate=validate.Length(max=2)),
            [1, 2, 3],
            "不能超过2项。",
            "Must have at most 2 items.",
        ),
        (
            fields.String(validate=validate.Regexp(r"^\d+$")),
            "x",
            "格式不正确。",
            "The format is not valid.",
        ),
        (
            fields.Integer(validate=validate.Range(min=0, max=10, min_inclusive=False)),
            0,
            "必须大于0。",
            "Must be more than 0.",
        ),
        (
            fields.Integer(validate=validate.Range(max=10, max_inclusive=False)),
            10,
            "必须小于10。",
            "Must be less than 10.",
        ),
        (fields.Integer(validate=validate.Range(min=5)), 4, "不能小于5。", "Must be at least 5."),
        (
            fields.Date(),
            "2026-02-30",
            "应为日期（格式为 YYYY-MM-DD）。",
            "Must be a date (YYYY-MM-DD).",
        ),
        (fields.Boolean(), "maybe", "应为 true 或 false。", "Must be true or false."),
        (
            fields.Float(allow_nan=False),
            float("nan"),
            "应为有限的数值（不能是 NaN 或无穷大）。",
            "Must be a finite number (not NaN or infinity).",
        ),
    ],
)
def test_validator_messages_carry_their_values_in_each_language(
    app, field, value, chinese, english
):
    schema = ma.Schema.from_dict({"x": field})()
    with pytest.raises(ma.ValidationError) as refused:
        schema.load({"x": value})
    with app.test_request_context():
        assert rendered_errors(refused.value.messages) == {"x": [chinese]}
    with app.test_request_context(headers=ENGLISH):
        assert rendered_errors(refused.value.messages) == {"x": [english]}


def test_a_message_keeps_no_raw_input(app):
    schema = ma.Schema.from_dict({"id_number": fields.Integer()})()
    with pytest.raises(ma.ValidationError) as refused:
        schema.load({"id_number": "330102199001011234x"})
    (message,) = refused.value.messages["id_number"]
    assert isinstance(message, Message) and "input" not in message.values


# ---------------------------------------------------------------- every schema of the API


def _schemas_of_the_api(app) -> list[ma.Schema]:
    """The arguments of every registered route, and every schema our packages define."""
    found: list[ma.Schema] = []
    for view in app.view_functions.values():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = parameter["schema"]
            found.append(schema() if isinstance(schema, type) else schema)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(ma.Schema):
        if cls.__module__.split(".")[0] in PACKAGES:
            found.append(cls())
    return found


def _fields_within(schema: ma.Schema, seen: set[int]):
    if id(schema) in seen:
        return
    seen.add(id(schema))
    for field in schema.fields.values():
        yield from _field_and_inner(field, seen)


def _field_and_inner(field: fields.Field, seen: set[int]):
    yield field
    if isinstance(field, fields.Nested):
        yield from _fields_within(field.schema, seen)
    for inner in (
        getattr(field, "inner", None),
        getattr(field, "key_field", None),
        getattr(field, "value_field", None),
        *getattr(field, "tuple_fields", ()),
    ):
        if isinstance(inner, fields.Field):
            yield from _field_and_inner(inner, seen)


def _validator_messages(validator) -> dict[str, object]:
    names = {
        validate.Range: ("error", "message_min", "message_max", "message_all"),
        validate.Length: ("error", "message_min", "message_max", "message_all", "message_equal"),
    }.get(type(validator), ("error",))
    return {name: getattr(validator, name) for name in names if getattr(validator, name, None)}


def test_no_field_or_validator_of_the_api_can_answer_with_an_untranslated_stock_message(app):
    chinese = catalogue()
    schemas = _schemas_of_the_api(app)
    assert len(schemas) > 100
    checked, untranslated = 0, []
    seen: set[int] = set()
    for schema in schemas:
        for key, message in schema.error_messages.items():
            checked += 1
            if not (isinstance(message, Message) and chinese.get(message.msgid)):
                untranslated.append((type(schema).__name__, key, message))
        for field in _fields_within(schema, seen):
            for key, message in field.error_messages.items():
                checked += 1
                if not (isinstance(message, Message) and chinese.get(message.msgid)):
                    untranslated.append((type(field).__name__, key, message))
            for validator in field.validators:
                if not isinstance(validator, validate.Validator):
                    continue  # our own functions raise our codes (checked below)
                for name, message in _validator_messages(validator).items():
                    checked += 1
                    if not (isinstance(message, Message) and chinese.get(message.msgid)):
                        untranslated.append((type(validator).__name__, name, message))
    assert checked > 1000
    assert untranslated == []


def test_every_field_detail_raised_by_our_code_names_an_error_code(app):
    """A text raised by hand would reach donors untranslated: raise a code instead (the app's
    packages have registered their codes)."""
    literal, raised = [], 0
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "ValidationError" and node.args:
                    details = [node.args[0]]
                elif name == "ApiError":
                    details = [k.value for k in node.keywords if k.arg == "errors"]
                else:
                    continue
                raised += 1
                for detail in details:
                    for text in _string_constants(detail):
                        if text not in MESSAGES:
                            literal.append((str(path.relative_to(ROOT)), node.lineno, text))
    assert raised > 100
    assert literal == []


def _string_constants(node: ast.AST | None) -> list[str]:
    """The texts a detail holds (a dict's keys are field names, not texts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict | ast.List | ast.Tuple):
        children = node.values if isinstance(node, ast.Dict) else node.elts
        return [text for child in children for text in _string_constants(child)]
    return []


# ---------------------------------------------------------------- the catalogue


def test_every_error_code_has_a_chinese_translation(app):
    chinese = catalogue()
    missing = [
        code
        for code, message in MESSAGES.items()
        if not (isinstance(message, Message) and HAN.search(chinese.get(message.msgid, "")))
    ]
    assert missing == []


def test_every_text_marked_in_the_code_is_in_the_catalogue_with_chinese():
    chinese = catalogue()
    method_map = [(f"{package}/**.py", "python") for package in PACKAGES]
    marked = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(
            str(ROOT), method_map + [("*.py", "python")], keywords={"_l": None}, comment_tags=()
        )
    }
    assert len(marked) > 150
    assert sorted(text for text in marked if not chinese.get(text)) == []


def test_the_compiled_catalogue_matches_the_po_file():
    """messages.mo is committed; `.venv/bin/python scripts/catalogue compile` rewrites it."""
    with CATALOGUE.with_suffix(".mo").open("rb") as stream:
        compiled = {m.id: m.string for m in read_mo(stream) if m.id}
    assert compiled == {msgid: text for msgid, text in catalogue().items() if text}


def test_a_translation_names_the_same_values_as_its_english():
    placeholder = re.compile(r"\{(\w+)\}")
    differing = [
        (msgid, text)
        for msgid, text in catalogue().items()
        if text and set(placeholder.findall(msgid)) != set(placeholder.findall(text))
    ]
    assert differing == []


# ---------------------------------------------------------------- the command line's language


@pytest.mark.parametrize(
    "environ,language",
    [
        ({}, "zh"),
        ({"LANG": "C.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANGUAGE": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "en_GB.UTF-8"}, "en"),
    ],
)
def test_the_command_line_is_chinese_unless_the_environment_asks_for_english(environ, language):
    assert environment_language(environ) == language


def test_a_structured_detail_keeps_its_code_and_translates_its_message(app):
    detail = {"eligibility": [{"code": "interval", "until": "2026-12-01", "message": "interval"}]}
    with app.test_request_context(headers=ENGLISH):
        assert rendered_errors(detail) == {
            "eligibility": [
                {
                    "code": "interval",
                    "until": "2026-12-01",
                    "message": "Too soon after the previous donation.",
                }
            ]
        }
