"""Command-line failures and import rejections come as sentences (issue 12, items 7 and 10).

The command line speaks Chinese unless the environment's language (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG: the first set) starts with `en`; a failure exits non-zero.
"""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from certificate.imports import COLUMNS
from certificate.models import Donation
from core.extensions import db
from core.ids import make_din
from tests.factories import make_site, resident_id

CHINESE = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}
ENGLISH = {**CHINESE, "LANG": "en_US.UTF-8"}


def din(sequence: int) -> str:
    made = make_din("W3301", 2020, sequence)
    return made.body + made.check


def write_export(path, rows, encoding="utf-8") -> str:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return str(path)


def run(app, *args, env=CHINESE, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), env=env, **kwargs)


def donations() -> int:
    return db.session.scalar(select(func.count()).select_from(Donation))


def a_wrong_check_digit(person: str) -> str:
    return person[:-1] + ("0" if person[-1] != "0" else "1")


# ---------------------------------------------------------------- the history import


def test_each_rejected_row_is_a_chinese_sentence_with_its_line_by_default(app, tmp_path):
    person = resident_id(birth="19800101")
    path = write_export(
        tmp_path / "history.csv",
        [
            [person, "王小明", din(1), "whole_blood", "400", "", "2020-03-01", "W3301"],
            [
                a_wrong_check_digit(person),
                "王小明",
                din(2),
                "whole_blood",
                "400",
                "",
                "2020-04-01",
                "W3301",
            ],
            [person, "王小明", din(3), "whole_blood", "400", "", "2099-03-01", "W3301"],
        ],
    )
    result = run(app, "certificate", "import", path)
    assert result.exit_code == 0, result.output
    assert "已导入1条" in result.output and "拒绝2条" in result.output
    assert "第3行：身份证号校验位不正确。" in result.output
    assert "第4行：献血日期无效。" in result.output


def test_rejected_rows_are_english_sentences_when_the_environment_is_english(app, tmp_path):
    person = resident_id(birth="19800102")
    path = write_export(
        tmp_path / "history.csv",
        [
            [
                a_wrong_check_digit(person),
                "王小明",
                din(4),
                "whole_blood",
                "400",
                "",
                "2020-03-01",
                "W3301",
            ]
        ],
    )
    result = run(app, "certificate", "import", path, env=ENGLISH)
    assert "Line 2: The ID number's check digit is wrong." in result.output
    assert "第" not in result.output


def test_a_gbk_export_is_refused_before_any_row_loads_with_save_as_utf8(app, tmp_path):
    person = resident_id(birth="19800103")
    rows = [[person, "王小明", din(5), "whole_blood", "400", "", "2020-03-01", "W3301"]]
    path = write_export(tmp_path / "excel.csv", rows, encoding="gbk")
    result = run(app, "certificate", "import", path)
    assert result.exit_code == 1
    assert "GBK" in result.output and "请另存为 UTF-8 编码" in result.output
    assert result.output.startswith("错误：")
    assert "Traceback" not in result.output and donations() == 0
    english = run(app, "certificate", "import", path, env=ENGLISH)
    assert english.exit_code == 1 and "Save it as UTF-8" in english.output


def test_an_export_in_another_encoding_is_refused_naming_its_first_bad_line(app, tmp_path):
    person = resident_id(birth="19800104")
    rows = [[person, "王小明", din(6), "whole_blood", "400", "", "2020-03-01", "W3301"]]
    path = write_export(tmp_path / "unicode.txt", rows, encoding="utf-16")
    result = run(app, "certificate", "import", path)
    assert result.exit_code == 1
    assert "不是 UTF-8 编码（第1行有无法识别的字符）" in result.output
    assert donations() == 0


def test_an_export_saved_with_a_bom_loads(app, tmp_path):
    person = resident_id(birth="19800105")
    rows = [[person, "王小明", din(7), "whole_blood", "400", "", "2020-03-01", "W3301"]]
    path = write_export(tmp_path / "bom.csv", rows, encoding="utf-8-sig")
    result = run(app, "certificate", "import", path)
    assert result.exit_code == 0, result.output
    assert "已导入1条" in result.output and donations() == 1


def test_a_malformed_csv_line_is_refused_with_a_sentence_before_any_row_loads(app, tmp_path):
    person = resident_id(birth="19800106")
    path = tmp_path / "broken.csv"
    path.write_text(
        ",".join(COLUMNS)
        + "\n"
        + f"{person},王小明,{din(8)},whole_blood,400,,2020-03-01,W3301\n"
        + f'{person},"{"x" * 200_000}",{din(9)},whole_blood,400,,2020-04-01,W3301\n',
        encoding="utf-8",
    )
    result = run(app, "certificate", "import", str(path))
    assert result.exit_code == 1
    assert "第3行不是有效的 CSV 格式" in result.output
    assert "Traceback" not in result.output and donations() == 0


def test_an_unknown_region_is_a_sentence(app, tmp_path):
    path = write_export(tmp_path / "empty.csv", [])
    result = run(app, "certificate", "import", path, "--region", "atlantis")
    assert result.exit_code == 1
    assert "错误：没有地区 atlantis 的政策" in result.output


def test_the_import_help_lists_every_column_and_the_encoding(app):
    result = run(app, "certificate", "import", "--help")
    assert result.exit_code == 0
    for column in COLUMNS:
        assert f"  {column} " in result.output, column
    assert "UTF-8" in result.output and "BOM" in result.output and "GBK" in result.output


# ---------------------------------------------------------------- other commands


def test_a_taken_username_is_a_sentence_not_a_code(app):
    args = ("users", "create-staff", "--username", "nurse1", "--name", "护士甲")
    assert run(app, *args, "--password", "long-enough-1").exit_code == 0
    again = run(app, *args, "--password", "long-enough-1")
    assert again.exit_code == 1
    assert again.output.strip() == "错误：该用户名已存在。"
    english = run(app, *args, "--password", "long-enough-1", env=ENGLISH)
    assert english.output.strip() == "Error: This username is already taken."


def test_a_short_password_is_refused_with_the_minimum(app):
    result = run(
        app,
        "users",
        "create-staff",
        "--username",
        "nurse2",
        "--name",
        "护士乙",
        input="short\nshort\n",
    )
    assert result.exit_code == 1
    assert "错误：密码至少需要10个字符。" in result.output


def test_the_create_staff_help_says_the_password_is_asked_for(app):
    result = run(app, "users", "create-staff", "--help")
    assert result.exit_code == 0
    assert "--password" in result.output and "asked for" in result.output
    assert "twice" in result.output and "hidden" in result.output


def test_unknown_staff_devices_and_sites_are_sentences(app):
    make_site(facility_code="W3301")
    db.session.commit()
    cases = [
        (("users", "disable", "nobody"), "错误：没有用户名为 nobody 的工作人员。"),
        (("users", "rotate-device", "gate-x"), "错误：没有编号为 gate-x 的设备。"),
        (
            ("appointments", "open-slots", "--site", "W9999"),
            "错误：没有机构代码为 W9999 的献血点。",
        ),
    ]
    for args, sentence in cases:
        result = run(app, *args)
        assert result.exit_code == 1, args
        assert result.output.strip() == sentence


def test_the_command_line_keeps_its_language_after_an_english_request(app, client):
    client.get("/api/v1/me", headers={"Accept-Language": "en"})
    result = run(app, "users", "disable", "nobody")
    assert result.output.strip() == "错误：没有用户名为 nobody 的工作人员。"
