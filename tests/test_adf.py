"""The delivery parsers without the app: ADF variants as real feeds send them, and the JSON /
form field rules. Pure functions, so no database and no Flask."""

from __future__ import annotations

import datetime as dt

import pytest

from dcc.leads.models import Grade
from dcc.leads.rules import grade_for_timeframe
from webhooks import adf, lead_payload

TODAY = dt.date(2026, 11, 28)


def parse_adf(document: str | bytes, **kw: object) -> lead_payload.LeadInput:
    body = document.encode() if isinstance(document, str) else document
    return lead_payload.parse(body, kw.pop("content_type", "application/xml"), today=TODAY, **kw)


def test_canonical_adf_document() -> None:
    lead = parse_adf(
        """<?xml version="1.0" encoding="UTF-8"?>
        <?adf version="1.0"?>
        <adf>
         <prospect status="new">
          <id sequence="1" source="yiche">YC-55012</id>
          <id sequence="2" source="dealer-crm">CRM-9</id>
          <requestdate>2026-11-28T10:02:11+08:00</requestdate>
          <vehicle interest="buy" status="new">
            <year>2026</year><make>Toyota</make><model>Camry</model><trim>XLE</trim>
            <price type="quote" currency="CNY">209800</price>
            <comments>white please</comments>
          </vehicle>
          <customer>
            <contact primarycontact="1">
              <name part="first" type="individual">John</name>
              <name part="last" type="individual">Smith</name>
              <email preferredcontact="0">john.smith@example.com</email>
              <phone type="voice" time="day">+86 21 6888 1234</phone>
              <address type="home"><street line="1">1 Century Ave</street>
                <city>上海</city><postalcode>200120</postalcode><country>CN</country></address>
            </contact>
            <timeframe><description>within 7 days</description></timeframe>
            <comments>call after 6pm</comments>
          </customer>
          <vendor><id source="oem">V-1</id><vendorname>浦东丰田</vendorname></vendor>
          <provider><name part="full">易车</name><service>询价</service>
            <url>https://www.yiche.com</url></provider>
         </prospect>
        </adf>"""
    )
    assert lead.phone == "+862168881234"
    assert lead.name == "John Smith"
    assert lead.email == "john.smith@example.com"
    assert lead.city == "上海"
    assert (lead.brand, lead.series, lead.model, lead.model_year) == (
        "Toyota",
        "Camry",
        "Camry XLE",
        2026,
    )
    assert lead.external_id == "YC-55012"
    assert lead.purchase_timeframe == "within 7 days"
    assert grade_for_timeframe(lead.purchase_timeframe) == Grade.H
    assert lead.comments == "white please\ncall after 6pm"
    details = lead.details["adf"]
    assert lead.details["format"] == "adf"
    assert details["status"] == "new"
    assert details["ids"][1] == {"id": "CRM-9", "source": "dealer-crm", "sequence": "2"}
    assert details["requestdate"] == "2026-11-28T10:02:11+08:00"
    assert details["vehicles"][0]["price"] == {
        "@type": "quote",
        "@currency": "CNY",
        "#text": "209800",
    }
    assert details["vendor"]["vendorname"] == "浦东丰田"
    assert details["provider"]["url"] == "https://www.yiche.com"
    assert details["address"]["postalcode"] == "200120"


def test_minimal_prospect_without_optional_parts() -> None:
    lead = parse_adf(
        "<adf><prospect><customer><contact><phone>13800138000</phone>"
        "</contact></customer></prospect></adf>"
    )
    assert lead.phone == "+8613800138000"
    assert lead.name == "" and lead.brand is None and lead.external_id is None
    assert lead.alt_phone is None and lead.purchase_timeframe is None


def test_namespaces_case_and_unknown_elements_are_tolerated() -> None:
    lead = parse_adf(
        """<ADF xmlns="http://www.adfxml.info/adf/1.0">
          <Prospect>
            <ID source="dongchedi">DCD-1</ID>
            <Vehicle><Year>2025</Year><Make>比亚迪</Make><Model>汉</Model></Vehicle>
            <Customer><Contact><Name part="full">刘女士</Name>
              <Phone type="cellphone">(0086) 139-1234-5678</Phone></Contact></Customer>
            <leadtype>test-drive</leadtype>
            <campaign code="1111"><name>双十一</name></campaign>
          </Prospect>
        </ADF>"""
    )
    assert (lead.phone, lead.name, lead.brand, lead.series, lead.model_year) == (
        "+8613912345678",
        "刘女士",
        "比亚迪",
        "汉",
        2025,
    )
    assert lead.external_id == "DCD-1"
    other = lead.details["adf"]["other"]
    assert other["leadtype"] == "test-drive"
    assert other["campaign"] == {"@code": "1111", "name": "双十一"}


def test_prospect_as_the_root_element() -> None:
    lead = parse_adf(
        "<prospect><customer><contact><phone>010 6552 9988</phone></contact></customer></prospect>"
    )
    assert lead.phone == "+861065529988"


def test_several_phones_first_callable_is_phone_next_is_alt_phone() -> None:
    lead = parse_adf(
        """<adf><prospect><customer><contact>
          <phone type="fax">010-6552 0000</phone>
          <phone type="voice">12345</phone>
          <phone type="voice">010-6552 9988</phone>
          <phone>+86 139 1234 5678</phone>
          <phone type="cellphone">008613700001111</phone>
        </contact></customer></prospect></adf>"""
    )
    # The fax cannot be called; the invalid number is skipped but kept in the details.
    assert lead.phone == "+861065529988"
    assert lead.alt_phone == "+8613912345678"
    numbers = [p["number"] for p in lead.details["adf"]["phones"]]
    assert numbers[:2] == ["010-6552 0000", "12345"]


def test_same_number_twice_gives_no_alt_phone() -> None:
    lead = parse_adf(
        "<adf><prospect><customer><contact><phone type='voice'>13800138000</phone>"
        "<phone type='cellphone'>+86 138 0013 8000</phone></contact></customer></prospect></adf>"
    )
    assert (lead.phone, lead.alt_phone) == ("+8613800138000", None)


def test_the_vehicle_of_interest_is_not_the_trade_in() -> None:
    lead = parse_adf(
        """<adf><prospect>
          <vehicle interest="trade-in" status="used"><year>2015</year><make>本田</make>
            <model>雅阁</model><odometer units="km">120000</odometer></vehicle>
          <vehicle interest="test-drive" status="new"><year>2026</year><make>丰田</make>
            <model>汉兰达</model></vehicle>
          <customer><contact><phone>13800138000</phone></contact></customer>
        </prospect></adf>"""
    )
    assert (lead.brand, lead.series, lead.model_year) == ("丰田", "汉兰达", 2026)
    trade_in = lead.details["adf"]["vehicles"][0]
    assert trade_in["interest"] == "trade-in" and trade_in["make"] == "本田"
    assert trade_in["odometer"] == {"@units": "km", "#text": "120000"}


def test_only_a_trade_in_leaves_the_lead_without_a_vehicle() -> None:
    lead = parse_adf(
        "<adf><prospect><vehicle interest='sell'><year>2015</year><make>本田</make>"
        "<model>雅阁</model></vehicle><customer><contact><phone>13800138000</phone>"
        "</contact></customer></prospect></adf>"
    )
    assert lead.brand is None and lead.model_year is None
    assert lead.details["adf"]["vehicles"][0]["make"] == "本田"


@pytest.mark.parametrize(
    ("parts", "name"),
    [
        ('<name part="first">先生</name><name part="last">王</name>', "王先生"),
        ('<name part="last">Smith</name><name part="first">Ann</name>', "Ann Smith"),
        ('<name part="full">张三</name><name part="first">三</name>', "张三"),
        ("<name>李四</name>", "李四"),
    ],
)
def test_name_parts(parts: str, name: str) -> None:
    lead = parse_adf(
        f"<adf><prospect><customer><contact>{parts}<phone>13800138000</phone>"
        "</contact></customer></prospect></adf>"
    )
    assert lead.name == name


@pytest.mark.parametrize(
    ("timeframe", "text", "grade"),
    [
        ("<description>一个月内</description>", "一个月内", Grade.A),
        ("<latestdate>2026-12-02</latestdate>", "within 7 days (by 2026-12-02)", Grade.H),
        ("<earliestdate>2026-12-20</earliestdate>", "within 1 month (by 2026-12-20)", Grade.A),
        ("<latestdate>2027-02-01</latestdate>", "1-3 months (by 2027-02-01)", Grade.B),
        ("<latestdate>2027-06-01</latestdate>", "later than 3 months (by 2027-06-01)", Grade.C),
        (
            "<description>asap</description><latestdate>2026-11-30</latestdate>",
            "asap (within 7 days)",
            Grade.H,
        ),
    ],
)
def test_timeframe_becomes_a_purchase_timeframe_the_rules_grade(
    timeframe: str, text: str, grade: Grade
) -> None:
    lead = parse_adf(
        "<adf><prospect><requestdate>2026-11-28T09:00:00+08:00</requestdate><customer>"
        f"<contact><phone>13800138000</phone></contact><timeframe>{timeframe}</timeframe>"
        "</customer></prospect></adf>"
    )
    assert lead.purchase_timeframe == text
    assert grade_for_timeframe(lead.purchase_timeframe) == grade


def test_gb2312_document_is_read() -> None:
    document = (
        '<?xml version="1.0" encoding="GB2312"?><adf><prospect><customer><contact>'
        '<name part="full">王先生</name><phone>13800138000</phone></contact></customer>'
        "<vehicle><make>丰田</make><model>凯美瑞</model></vehicle></prospect></adf>"
    ).encode("gb2312")
    lead = parse_adf(document, content_type="text/xml")
    assert (lead.name, lead.brand, lead.series) == ("王先生", "丰田", "凯美瑞")
    undeclared = document.replace(b' encoding="GB2312"', b"")
    lead = parse_adf(undeclared, content_type="text/xml; charset=gbk")
    assert lead.name == "王先生"


def test_bad_optional_values_are_kept_not_fatal() -> None:
    lead = parse_adf(
        "<adf><prospect><vehicle><year>26</year><make>丰田</make></vehicle><customer><contact>"
        "<email>wang at example</email><phone>13800138000</phone></contact>"
        f"<comments>{'长' * 5000}</comments></customer></prospect></adf>"
    )
    assert lead.email is None and lead.model_year is None
    rejected = lead.details["rejected"]
    assert rejected["email"]["value"] == "wang at example"
    assert rejected["model_year"]["value"] == "26"
    assert lead.comments is not None and len(lead.comments) == 4000


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY a "aaaa">]><adf>&a;</adf>',
            "body: DTDs and entity declarations are refused",
        ),
        (
            '<!DOCTYPE adf [<!ENTITY x SYSTEM "file:///etc/passwd">]><adf>&x;</adf>',
            "body: DTDs and entity declarations are refused",
        ),
        ('<!DOCTYPE adf SYSTEM "adf.dtd"><adf/>', "body: DTDs and entity declarations are refused"),
        ("<adf><prospect>", "well-formed"),
        ("<html><body/></html>", "not an ADF document"),
        ("<adf/>", "without a <prospect>"),
        ("<adf><prospect/><prospect/></adf>", "several prospects"),
    ],
)
def test_unsafe_or_malformed_documents_are_refused(document: str, says: str) -> None:
    with pytest.raises(adf.AdfError, match=says):
        adf.parse(document.encode())
    with pytest.raises(lead_payload.MalformedBody) as info:
        parse_adf(document)
    assert info.value.field == "body" and info.value.status_code == 400


def test_adf_without_a_callable_phone_names_phone() -> None:
    with pytest.raises(lead_payload.InvalidFields) as info:
        parse_adf(
            "<adf><prospect><customer><contact><email>a@b.cn</email>"
            "<phone type='fax'>010-6552 0000</phone></contact></customer></prospect></adf>"
        )
    assert info.value.field == "phone" and info.value.errors == {"phone": ["is required"]}
    assert info.value.code == "field.required"
    with pytest.raises(lead_payload.InvalidFields) as info:
        parse_adf(
            "<adf><prospect><customer><contact><phone>12345</phone></contact></customer>"
            "</prospect></adf>"
        )
    assert info.value.field == "phone"


# --- JSON and form ------------------------------------------------------------------------


def test_json_fields_and_unknown_ones() -> None:
    lead = lead_payload.parse(
        b'{"phone": 13800138000, "name": " \xe7\x8e\x8b ", "consent": "yes", "model_year": "2026",'
        b' "budget": 15.5, "lead_score": 88, "email": null}',
        "application/json; charset=utf-8",
    )
    assert (lead.phone, lead.name, lead.consent, lead.model_year, lead.budget) == (
        "+8613800138000",
        "王",
        True,
        2026,
        "15.5",
    )
    assert lead.email is None
    assert lead.details == {"format": "json", "extra": {"lead_score": 88}}


def test_form_repeats_and_blank_fields() -> None:
    lead = lead_payload.parse(
        b"phone=13800138000&phone=13900139000&email=&tag=a&tag=b&consent=",
        "application/x-www-form-urlencoded",
    )
    assert lead.phone == "+8613800138000"
    assert lead.email is None and lead.consent is False
    assert lead.details["extra"] == {"tag": ["a", "b"]}


def test_json_errors_name_each_field() -> None:
    with pytest.raises(lead_payload.InvalidFields) as info:
        lead_payload.parse(
            b'{"phone": {"n": 1}, "consent": 2, "comments": ["a"], "model_year": true}',
            "application/json",
        )
    assert set(info.value.errors) == {"phone", "consent", "comments", "model_year"}
    assert info.value.to_dict()["errors"] == info.value.errors


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "multipart/form-data; boundary=x", "text/html"]
)
def test_unsupported_content_types(content_type: str | None) -> None:
    with pytest.raises(lead_payload.UnsupportedContentType):
        lead_payload.parse(b'{"phone": "13800138000"}', content_type)


def test_json_suffix_and_xml_suffix_types_are_accepted() -> None:
    assert lead_payload.parse(b'{"phone": "13800138000"}', "application/vnd.lead+json").phone
    adf_doc = b"<adf><prospect><customer><contact><phone>13800138000</phone></contact>"
    adf_doc += b"</customer></prospect></adf>"
    assert lead_payload.parse(adf_doc, "application/vnd.adf+xml").phone == "+8613800138000"


def test_deep_nesting_cannot_exhaust_the_stack() -> None:
    deep = "<a>" * 5000 + "x" + "</a>" * 5000
    lead = parse_adf(
        "<adf><prospect><customer><contact><phone>13800138000</phone></contact></customer>"
        f"<vendor>{deep}</vendor><campaign>{deep}</campaign></prospect></adf>"
    )
    assert lead.phone == "+8613800138000"
    assert "x" in str(lead.details["adf"]["vendor"])
    for depth in (17, 5000):
        with pytest.raises(lead_payload.MalformedBody, match="nests deeper"):
            lead_payload.parse(
                b'{"phone": "13800138000", "x": ' + b"[" * depth + b"]" * depth + b"}",
                "application/json",
            )
