"""CRM customers, web-shop accounts, and the true identity pairs between them.

About a fifth of the web accounts belong to a CRM customer, spelled differently. The conventions a
matcher can rely on (also written into the manifest):

* e-mail: equal after lower-casing (``John.Smith@Mail.com`` vs ``john.smith@mail.com``);
* phone: equal after removing every non-digit (``020-7946-0958`` vs ``(020) 7946 0958``);
* name: first and last name equal after lower-casing (``JOSÉ GARCÍA`` vs ``José García``); name
  pairs also share country and city.

``match`` says which of the three link a pair: ``email+phone+name``, ``email``, ``phone`` or
``name``. Attributes that are not part of the match differ (another address, another number, the
first name shortened to an initial, or, if that short form is taken, another last name). Unrelated
people never share an e-mail, a phone number or a full name, over all days: a matcher that links
records on any of the three, transitively, finds exactly the identity pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.catalog import iso_timestamp
from shopflow_assets.generator.frame import STRING, Frame, Records
from shopflow_assets.generator.params import (
    CHANGED_PER_DAY,
    IDENTITY_SHARE,
    INITIAL_ACCOUNTS,
    INITIAL_CUSTOMERS,
    NEW_PER_DAY,
    Stream,
    rng_for,
)
from shopflow_assets.sources import SOURCES

PHONE_STYLES: tuple[str, ...] = ("{a}-{b}-{c}", "({a}) {b} {c}", "{a} {b} {c}", "{a}.{b}.{c}", "{a}{b}{c}")
MATCHES: tuple[str, ...] = ("email+phone+name", "email", "phone", "name")
MATCH_WEIGHTS: tuple[float, ...] = (0.4, 0.2, 0.2, 0.2)
# Share of people with a double surname (``García Pérez``, ``Smith-Jones``); a name already in use
# is redrawn a few times and then also gets one, which makes room for any number of people.
DOUBLE_SURNAME_SHARE = 0.08
PLAIN_NAME_TRIES = 3


def format_phone(digits: str, style: int) -> str:
    """An 11-digit national number in one of the house styles (all keep the same digits)."""
    return PHONE_STYLES[style].format(a=digits[:3], b=digits[3:7], c=digits[7:])


def _pick(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...] | None = None) -> str:
    if weights is None:
        return items[int(rng.integers(len(items)))]
    return items[int(rng.choice(len(items), p=np.array(weights) / sum(weights)))]


def _other_case(text: str, rng: np.random.Generator, mixed: bool) -> str:
    """The same text in a different letter case: UPPER or lower, or also Title.Case for e-mails."""
    title = ".".join(part[:1].upper() + part[1:] for part in text.lower().split("."))
    candidates = [text.upper(), text.lower(), *([title] if mixed else [])]
    variants = [v for v in dict.fromkeys(candidates) if v != text]
    return variants[int(rng.integers(len(variants)))]


def _email_case(email: str, rng: np.random.Generator) -> str:
    """The same address in another letter case (``john.smith@mail.com`` -> ``John.Smith@Mail.Com``)."""
    if rng.random() < 0.9:
        recased = "@".join(_other_case(part, rng, mixed=True) for part in email.split("@"))
    else:
        recased = email.upper()
    return recased if recased != email else email.lower()


def name_key(first: str, last: str) -> str:
    """What makes two full names the same person's, stricter than any matcher: case, accents,
    punctuation and spacing are ignored (``José  García`` = ``JOSE GARCIA`` = ``Jose-Garcia``)."""
    return " ".join(re.findall(r"[a-z0-9]+", ref.ascii_fold(f"{first} {last}").lower()))


@dataclass
class Contacts:
    """E-mail addresses, phone numbers and full names in use, so that unrelated people never share one."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def claim_name(self, first: str, last: str) -> bool:
        """Reserve a full name; False if someone already has it."""
        key = name_key(first, last)
        if key in self.names:
            return False
        self.names.add(key)
        return True

    def name(self, rng: np.random.Generator, first: str | None = None) -> tuple[str, str]:
        """A full name nobody has yet (with the given first name, if any)."""
        tries = 0
        while True:
            given = first or _pick(rng, ref.FIRST_NAMES)
            last = _pick(rng, ref.LAST_NAMES)
            if tries >= PLAIN_NAME_TRIES or rng.random() < DOUBLE_SURNAME_SHARE:
                second = _pick(rng, ref.LAST_NAMES)
                last = f"{last}{' ' if rng.random() < 0.5 else '-'}{second}" if second != last else last
            tries += 1
            if self.claim_name(given, last):
                return given, last

    def email(self, rng: np.random.Generator, first: str, last: str, initial: bool = False) -> str:
        first_part = ref.ascii_fold(first)[:1] if initial else ref.ascii_fold(first) + "."
        base = (first_part + ref.ascii_fold(last)).lower().replace(" ", "")
        domain = _pick(rng, ref.EMAIL_DOMAINS)
        candidate, n = f"{base}@{domain}", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{base}{n}@{domain}"
        self.emails.add(candidate)
        return candidate

    def phone(self, rng: np.random.Generator) -> str:
        while True:
            digits = f"0{int(rng.integers(10, 100))}{int(rng.integers(0, 10**8)):08d}"
            if digits not in self.phones:
                self.phones.add(digits)
                return digits


def _place(rng: np.random.Generator) -> tuple[str, str]:
    country = _pick(rng, ref.COUNTRIES, ref.COUNTRY_WEIGHTS)
    return country, _pick(rng, ref.CITIES[country])


def _clock(rng: np.random.Generator) -> str:
    second = int(rng.integers(0, 86_400))
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def _past_day(rng: np.random.Generator, before: date, max_days: int) -> date:
    return before - timedelta(days=int(rng.integers(1, max_days)))


@dataclass(frozen=True)
class Identity:
    crm_id: str
    account_id: str
    match: str


@dataclass(kw_only=True)
class _People:
    """What the CRM and the web shop have in common: records, identity links, clean deliveries."""

    seed: int
    contacts: Contacts
    records: Records
    linked: list[bool] = field(default_factory=list)
    clean_known: list[bool] = field(default_factory=list)

    def _added(self, index: int, linked: bool) -> int:
        self.linked.append(linked)
        self.clean_known.append(False)
        return index

    def _changed_rows(self, rng: np.random.Generator, initial_size: int) -> list[int]:
        size = round(CHANGED_PER_DAY * initial_size)
        return sorted(rng.choice(len(self.records), size=size, replace=False).tolist())

    def protected(self, rows: list[int]) -> np.ndarray:
        """Records of identity pairs never get a defect: their e-mails and phones must stay matchable."""
        return np.array([self.linked[i] for i in rows], dtype=bool)

    def delivered(self, rows: list[int], clean: np.ndarray) -> None:
        for index, ok in zip(rows, clean.tolist(), strict=True):
            self.clean_known[index] = self.clean_known[index] or ok

    def referenceable(self) -> pa.Array:
        """Ids an order may use: delivered cleanly at least once."""
        ids = self.records[self.records.spec.key]
        return pa.array([ids[i] for i, known in enumerate(self.clean_known) if known], STRING)


@dataclass(kw_only=True)
class Crm(_People):
    """The CRM: customers with ``CUST000123`` ids, delivered as Parquet."""

    records: Records = field(default_factory=lambda: Records(SOURCES["customers"]))
    phone_digits: list[str | None] = field(default_factory=list)

    def _categories(self, rng: np.random.Generator) -> list[str]:
        count = int(rng.integers(0, 4))
        return sorted(
            ref.CATEGORIES[int(i)] for i in rng.choice(len(ref.CATEGORIES), size=count, replace=False)
        )

    def _create(self, rng: np.random.Generator, day: date, initial: bool) -> int:
        number = len(self.records) + 1
        first, last = self.contacts.name(rng)
        email = self.contacts.email(rng, first, last)
        digits = self.contacts.phone(rng) if rng.random() < 0.97 else None
        registered = _past_day(rng, day, 5 * 365) if initial else day
        # first-day profiles were last touched before the first day, later ones on their own day
        updated = (
            registered + timedelta(days=int(rng.integers(0, (day - registered).days))) if initial else day
        )
        country, city = _place(rng)
        self.phone_digits.append(digits)
        index = self.records.append(
            customer_id=f"CUST{number:06d}",
            first_name=first,
            last_name=last,
            email=email if rng.random() < 0.9 else _email_case(email, rng),
            phone=None if digits is None else format_phone(digits, int(rng.choice([0, 2, 4]))),
            country=country,
            city=city,
            registration_date=registered.isoformat(),
            customer_tier=_pick(rng, ref.TIERS, ref.TIER_WEIGHTS),
            preferred_categories=self._categories(rng),
            updated_at=f"{updated} {_clock(rng)}",
        )
        return self._added(index, linked=False)

    def _change(self, rng: np.random.Generator, index: int, day: date) -> None:
        """Tier, interests, a move or a new e-mail (never the contact details of a linked person)."""
        r, what = self.records, rng.random()
        if what < 0.4:
            r["customer_tier"][index] = _pick(rng, ref.TIERS, ref.TIER_WEIGHTS)
        elif what < 0.7 or self.linked[index]:
            r["preferred_categories"][index] = self._categories(rng)
        elif what < 0.85:
            r["country"][index], r["city"][index] = _place(rng)
        else:
            r["email"][index] = self.contacts.email(rng, r["first_name"][index], r["last_name"][index])
        r["updated_at"][index] = f"{day} {_clock(rng)}"

    def advance(self, day_index: int, day: date) -> tuple[Frame, list[int]]:
        rng = rng_for(self.seed, Stream.CUSTOMERS, day_index)
        if day_index == 0:
            rows = [self._create(rng, day, initial=True) for _ in range(INITIAL_CUSTOMERS)]
        else:
            rows = self._changed_rows(rng, INITIAL_CUSTOMERS)
            for index in rows:
                self._change(rng, index, day)
            new = int(rng.poisson(NEW_PER_DAY * INITIAL_CUSTOMERS))
            rows += [self._create(rng, day, initial=False) for _ in range(new)]
        return self.records.frame(rows), rows

    def link_candidates(self) -> list[int]:
        """Customers a new web account may belong to: known cleanly, not yet linked, with a phone."""
        return [
            i
            for i in range(len(self.records))
            if self.clean_known[i] and not self.linked[i] and self.phone_digits[i] is not None
        ]

    def link(self, index: int) -> str:
        self.linked[index] = True
        return self.records["customer_id"][index]


@dataclass(kw_only=True)
class WebShop(_People):
    """Web-shop accounts with ``EC1001`` ids, delivered as nested JSON."""

    crm: Crm
    records: Records = field(default_factory=lambda: Records(SOURCES["accounts"]))
    identities: list[Identity] = field(default_factory=list)

    def _new_phone(self, rng: np.random.Generator) -> str | None:
        if rng.random() < 0.1:
            return None
        return format_phone(self.contacts.phone(rng), int(rng.integers(len(PHONE_STYLES))))

    def _own_person(self, rng: np.random.Generator) -> dict[str, str | None]:
        first, last = self.contacts.name(rng)
        email = self.contacts.email(rng, first, last)
        country, city = _place(rng)
        return {
            "name_first": first if rng.random() < 0.9 else first.lower(),
            "name_last": last if rng.random() < 0.9 else last.lower(),
            "contact_email": email if rng.random() < 0.6 else _email_case(email, rng),
            "contact_phone": self._new_phone(rng),
            "address_country": country,
            "address_city": city,
        }

    def _crm_person(self, rng: np.random.Generator, crm_index: int, match: str) -> dict[str, str | None]:
        """The web account of a CRM customer, linked only through the attributes in ``match``."""
        crm = self.crm.records
        first, last = crm["first_name"][crm_index], crm["last_name"][crm_index]
        if "name" in match:
            names = (_other_case(first, rng, mixed=False), _other_case(last, rng, mixed=False))
        elif self.contacts.claim_name(f"{first[0]}.", last):
            names = (f"{first[0]}.", last)
        else:  # the short form is someone else's: the account carries another last name
            names = self.contacts.name(rng, first=first)
        if "email" in match:
            email = _email_case(crm["email"][crm_index], rng)
        else:
            email = self.contacts.email(rng, first, last, initial=True)
        if "phone" in match:
            digits, crm_phone = self.crm.phone_digits[crm_index], crm["phone"][crm_index]
            assert digits is not None
            styles = [s for s in range(len(PHONE_STYLES)) if format_phone(digits, s) != crm_phone]
            phone = format_phone(digits, styles[int(rng.integers(len(styles)))])
        else:
            phone = self._new_phone(rng)
        return {
            "name_first": names[0],
            "name_last": names[1],
            "contact_email": email,
            "contact_phone": phone,
            "address_country": crm["country"][crm_index],
            "address_city": crm["city"][crm_index],
        }

    def _create(self, rng: np.random.Generator, day: date, initial: bool, candidates: list[int]) -> int:
        account_id = f"EC{1001 + len(self.records)}"
        linked = bool(candidates) and rng.random() < IDENTITY_SHARE
        if linked:
            crm_index = candidates.pop(int(rng.integers(len(candidates))))
            match = _pick(rng, MATCHES, MATCH_WEIGHTS)
            person = self._crm_person(rng, crm_index, match)
            self.identities.append(Identity(self.crm.link(crm_index), account_id, match))
        else:
            person = self._own_person(rng)
        registered = _past_day(rng, day, 4 * 365) if initial else day
        index = self.records.append(
            id=account_id,
            **person,
            registered=iso_timestamp(registered, int(rng.integers(0, 86_400))),
            orders_count=int(rng.poisson(6)) if initial else 0,
            marketing_opt_in=bool(rng.random() < 0.45),
        )
        return self._added(index, linked=linked)

    def _change(self, rng: np.random.Generator, index: int) -> None:
        """More orders, an opt-in flip, a move or a new phone (contact details of linked people stay)."""
        r = self.records
        r["orders_count"][index] += int(rng.integers(1, 4))
        what = rng.random()
        if what < 0.3:
            r["marketing_opt_in"][index] = not r["marketing_opt_in"][index]
        elif what < 0.5 and not self.linked[index]:
            r["address_country"][index], r["address_city"][index] = _place(rng)
        elif what < 0.6 and not self.linked[index]:
            r["contact_phone"][index] = self._new_phone(rng)

    def advance(self, day_index: int, day: date) -> tuple[Frame, list[int]]:
        rng = rng_for(self.seed, Stream.ACCOUNTS, day_index)
        candidates = self.crm.link_candidates()
        if day_index == 0:
            rows = [self._create(rng, day, True, candidates) for _ in range(INITIAL_ACCOUNTS)]
        else:
            rows = self._changed_rows(rng, INITIAL_ACCOUNTS)
            for index in rows:
                self._change(rng, index)
            new = int(rng.poisson(NEW_PER_DAY * INITIAL_ACCOUNTS))
            rows += [self._create(rng, day, False, candidates) for _ in range(new)]
        return self.records.frame(rows), rows
