import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from saas.auth.models import Role
from saas.extensions import db
from saas.records.custom_fields import add_custom_field
from saas.records.models import Record
from saas.records.queries import ListQuery, records_page
from saas.tenancy import tenant_context
from saas.timeutil import utcnow


def names(response) -> list[str]:
    table = response.get_data(as_text=True).split('id="records"')
    if len(table) < 2:
        return []
    return re.findall(r'/records/\d+">([^<]+)</a>', table[1])


def test_filters_search_and_empty_states(manager_client, manager, add_records):
    tenant = manager.tenant
    assert "No leads yet." in manager_client.get("/acme/leads").get_data(as_text=True)
    add_records(tenant, 6, lead_source=lambda i: "Trade show" if i % 2 else "Web",
                company=lambda i: "Contoso" if i == 3 else f"Other {i}")

    shown = names(manager_client.get("/acme/leads?lead_source=Trade show"))
    assert sorted(shown) == ["First1 Last0001", "First3 Last0003", "First5 Last0005"]
    assert names(manager_client.get("/acme/leads?q=contoso")) == ["First3 Last0003"]
    assert names(manager_client.get("/acme/leads?q=LAST0004")) == ["First4 Last0004"]
    none = manager_client.get("/acme/leads?q=nobody").get_data(as_text=True)
    assert "No leads match these filters." in none
    listed = manager_client.get("/acme/leads?lead_source=Web").get_data(as_text=True)
    assert 'hx-get="/acme/leads/count?lead_source=Web"' in listed
    counted = manager_client.get("/acme/leads/count?lead_source=Web").get_data(as_text=True)
    assert re.search(r'id="record-count">3<', counted)


@pytest.mark.parametrize("query, expected", [
    ("f=company&op=begins_with&v=other 1", ["First1 Last0001"]),
    ("f=email&op=contains&v=person2-", ["First2 Last0002"]),
    ("f=first_name&op=in_list&v=First0, First2", ["First0 Last0000", "First2 Last0002"]),
    ("f=phone&op=is_empty&v=", ["First0 Last0000", "First1 Last0001", "First2 Last0002"]),
    ("f=status&op=not_equals&v=new", []),
    ("f=created_at&op=in_last_days&v=3", ["First0 Last0000", "First1 Last0001",
                                            "First2 Last0002"]),
    ("f=created_at&op=before&v=2000-01-01", []),
])
def test_advanced_filters_on_standard_fields(manager_client, manager, add_records, query,
                                             expected):
    add_records(manager.tenant, 3, company=lambda i: f"Other {i}")
    assert sorted(names(manager_client.get(f"/acme/leads?{query}"))) == expected


def test_a_filter_that_makes_no_sense_says_why(manager_client, manager, add_records):
    add_records(manager.tenant, 2)
    page = manager_client.get("/acme/leads?f=created_at&op=contains&v=x").get_data(as_text=True)
    assert "Created: “contains” does not apply here." in page
    page = manager_client.get("/acme/leads?f=created_at&op=in_last_days&v=soon")
    assert "enter a whole number of days" in page.get_data(as_text=True)


def test_custom_fields_in_filters(app, manager_client, manager, add_records):
    with app.app_context(), tenant_context(manager.tenant.id):
        add_custom_field(record_type="lead", label="Employees", kind="number")
        add_custom_field(record_type="lead", label="Tier", kind="choice", choices="Gold, Silver")
        add_custom_field(record_type="lead", label="Renewal", kind="date")
        add_custom_field(record_type="lead", label="Notes", kind="text")
    add_records(manager.tenant, 4, custom=lambda i: {
        "employees": [10, 250, 5000, None][i], "tier": ["Gold", "Silver", "Gold", None][i],
        "renewal": ["2026-01-15", "2026-06-01", None, "2027-03-01"][i],
        "notes": ["met at booth", "", "VIP booth visit", None][i]})

    def shown(q):
        return sorted(names(manager_client.get(f"/acme/leads?{q}")))

    assert shown("f=custom.employees&op=gt&v=100") == ["First1 Last0001", "First2 Last0002"]
    assert shown("f=custom.employees&op=between&v=5,300") == ["First0 Last0000",
                                                                "First1 Last0001"]
    assert shown("f=custom.tier&op=equals&v=gold") == ["First0 Last0000", "First2 Last0002"]
    assert shown("f=custom.tier&op=is_empty&v=") == ["First3 Last0003"]
    assert shown("f=custom.renewal&op=before&v=2026-07-01") == ["First0 Last0000",
                                                                  "First1 Last0001"]
    assert shown("f=custom.notes&op=contains&v=booth") == ["First0 Last0000", "First2 Last0002"]
    assert shown("f=custom.tier&op=equals&v=Bronze") == []
    page = manager_client.get("/acme/leads?f=custom.tier&op=equals&v=Bronze")
    assert "“Bronze” is not one of Gold, Silver." in page.get_data(as_text=True)


@pytest.mark.parametrize("sort", ["newest", "oldest", "name", "name_desc", "company", "updated"])
def test_keyset_pagination_visits_every_record_once_in_order(app, manager, add_records, sort):
    same_time = utcnow() - timedelta(days=2)
    # 130 records, many sharing created_at and company: ties must not lose or repeat rows.
    add_records(manager.tenant, 130, created_at=lambda i: same_time + timedelta(minutes=i // 10),
                updated_at=lambda i: same_time + timedelta(minutes=i // 20),
                last_name=lambda i: f"Name{i % 9}", first_name=lambda i: f"F{i % 4}")
    with app.app_context(), tenant_context(manager.tenant.id):
        seen, after, pages = [], None, 0
        while True:
            query = ListQuery.from_args("lead", MultiDict({"sort": sort, "after": after or ""}))
            page = records_page(query)
            seen.extend(page.items)
            pages += 1
            if not page.next_after:
                break
            after = page.next_after
        assert pages == 3
        ids = [r.id for r in seen]
        assert len(ids) == 130 and len(set(ids)) == 130
        key = {"newest": lambda r: (r.created_at, r.id), "oldest": lambda r: (r.created_at, r.id),
               "name": lambda r: (r.last_name, r.first_name, r.id),
               "name_desc": lambda r: (r.last_name, r.first_name, r.id),
               "company": lambda r: (r.company, r.id),
               "updated": lambda r: (r.updated_at, r.id)}[sort]
        expected = sorted(seen, key=key, reverse=sort in ("newest", "name_desc", "updated"))
        assert ids == [r.id for r in expected]


def test_next_page_link_keeps_the_filters(manager_client, manager, add_records):
    add_records(manager.tenant, 60, lead_source="Trade show")
    add_records(manager.tenant, 5, lead_source="Web", email=lambda i: f"web{i}@example.com")
    first = manager_client.get("/acme/leads?lead_source=Trade show&sort=name")
    link = re.search(r'href="([^"]+after=[^"]+)"', first.get_data(as_text=True)).group(1)
    link = link.replace("&amp;", "&")
    assert "lead_source=Trade+show" in link and "sort=name" in link
    second = manager_client.get(link)
    assert len(names(first)) == 50 and len(names(second)) == 10


def test_bulk_change_owner_and_delete(app, manager_client, manager, make_user, add_records):
    seller = make_user(manager.tenant, roles=[Role.SELLER], name="Sam Seller")
    ids = add_records(manager.tenant, 4)
    done = manager_client.post("/acme/leads/bulk", data={
        "ids": [str(i) for i in ids[:2]], "action": "owner", "owner_id": str(seller.id)})
    assert done.headers["Location"] == "/acme/leads"
    with app.app_context(), tenant_context(manager.tenant.id):
        owners = dict(db.session.execute(select(Record.id, Record.owner_id)).all())
    assert owners[ids[0]] == owners[ids[1]] == seller.id and owners[ids[2]] is None
    assert "Sam Seller" in manager_client.get(f"/acme/leads?owner_id={seller.id}").get_data(
        as_text=True)

    manager_client.post("/acme/leads/bulk", data={"ids": [str(ids[3])], "action": "delete"})
    with app.app_context(), tenant_context(manager.tenant.id):
        assert db.session.execute(select(Record.id).where(Record.id == ids[3])).first() is None


def test_bulk_actions_never_touch_another_tenant(app, manager_client, make_tenant, add_records):
    other = make_tenant("globex")
    theirs = add_records(other, 2)
    manager_client.post("/acme/leads/bulk", data={"ids": [str(i) for i in theirs],
                                                  "action": "delete"})
    with app.app_context(), tenant_context(other.id):
        assert len(db.session.execute(select(Record.id)).all()) == 2


def test_sellers_cannot_bulk_delete_or_export(app, manager, make_user, add_records, login):
    seller = make_user(manager.tenant, roles=[Role.SELLER])
    ids = add_records(manager.tenant, 1)
    client = app.test_client()
    login(client, seller)
    assert client.get("/acme/leads").status_code == 200
    assert client.post("/acme/leads/bulk", data={"ids": [str(ids[0])],
                                                 "action": "delete"}).status_code == 403
    assert client.get("/acme/leads/export.csv").status_code == 403


def test_export_writes_the_filtered_list(manager_client, manager, add_records):
    add_records(manager.tenant, 3, lead_source="Trade show", phone="+33612345678")
    add_records(manager.tenant, 2, lead_source="Web", email=lambda i: f"web{i}@example.com",
                company="=HYPERLINK(\"http://evil\")")
    response = manager_client.get("/acme/leads/export.csv?lead_source=Web")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["Email"] for r in rows] == ["web0@example.com", "web1@example.com"]
    assert rows[0]["Company"].startswith("'=")  # no formula runs in a spreadsheet
    everything = manager_client.get("/acme/leads/export.csv").get_data(as_text=True)
    assert "+33612345678" in everything and "'+33" not in everything
    assert everything.count("\n") == 6
