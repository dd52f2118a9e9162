"""A small registry with users of every role, for the page and browser tests (synthetic data only)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from fastapi.testclient import TestClient

from blinareg.records.registry import Registry
from blinareg.store import Store
from blinareg.web.security import hash_password

PASSWORD = "correct horse battery"
CENTER, OTHER_CENTER = "SC01", "SC02"
# role -> user name; every user works for CENTER (the statistician and auditor too).
USERS = {
    "data_manager": "dm",
    "investigator": "inv",
    "statistician": "stat",
    "auditor": "aud",
    "administrator": "admin",
    "monitor": "mon",
}


def small_registry() -> Registry:
    """Two synthetic centers; P-A1 and P-A2 at CENTER, P-B1 (dead) at OTHER_CENTER; each valid as it is."""
    return Registry(
        {
            "center": pd.DataFrame(
                [
                    {"center_id": CENTER, "name": "Synthetic Center 1", "country": "DE", "synthetic": True},
                    {"center_id": OTHER_CENTER, "name": "Synthetic Center 2", "country": "AT", "synthetic": True},
                ]
            ),
            "patient": pd.DataFrame(
                [
                    {"patient_id": "P-A1", "center_id": CENTER, "sex": "female", "birth_date": dt.date(2010, 3, 1)},
                    {"patient_id": "P-A2", "center_id": CENTER, "sex": "male", "birth_date": dt.date(2012, 6, 1)},
                    {"patient_id": "P-B1", "center_id": OTHER_CENTER, "sex": "male", "birth_date": dt.date(2011, 1, 5)},
                ]
            ),
            "diagnosis": pd.DataFrame(
                [
                    {"patient_id": "P-A1", "diagnosis_date": dt.date(2015, 5, 4)},
                    {"patient_id": "P-A2", "diagnosis_date": dt.date(2016, 2, 1)},
                    {"patient_id": "P-B1", "diagnosis_date": dt.date(2015, 9, 9)},
                ]
            ),
            "follow_up": pd.DataFrame(
                [
                    {"patient_id": "P-A1", "last_contact_date": dt.date(2022, 5, 1), "vital_status": "alive"},
                    {"patient_id": "P-A2", "last_contact_date": dt.date(2022, 6, 1), "vital_status": "alive"},
                    {"patient_id": "P-B1", "last_contact_date": dt.date(2021, 1, 1), "vital_status": "dead"},
                ]
            ),
            "death": pd.DataFrame([{"patient_id": "P-B1", "death_date": dt.date(2021, 1, 1), "cause": "infection"}]),
        }
    )


def make_store(url: str) -> Store:
    store = Store.open(url)
    store.init()
    store.import_registry(small_registry(), source="web test fixture", actor="test")
    password_hash = hash_password(PASSWORD)
    for role, name in USERS.items():
        store.accounts.add(name, password_hash, role, [CENTER], actor="test")
    return store


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(app, username: str) -> tuple[TestClient, str]:
    """A client signed in as `username`, and its CSRF token."""
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 303, response.text
    return client, csrf_token(client.get("/").text)
