"""Normalising contact details: one canonical form for storage, search and hashing."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

ERR_EMAIL = "Enter a valid email address, like name@example.co.uk."
ERR_PHONE = (
    "Enter a valid phone number: a UK one like 07911 123456 or 020 7946 0000, or one from abroad"
    " with its country code, like +33 1 23 45 67 89."
)
ERR_PHONE_EXTENSION = (
    "Enter the number without its extension: an extension cannot be dialled by our systems or"
    " matched to texts. Note it in the correspondence instead."
)
# What a phone field says it accepts (the company has customers in the EEA: the notice names
# its EU representative).
PHONE_HELP = "A UK number in any format, or one from abroad with its country code (+33 …)."
ERR_POSTCODE = "Enter a valid UK postcode, like SW1A 1AA."

# UK postcode (the standard pattern plus GIR 0AA), without the space.
_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_email(value: str) -> str:
    """An email address to store or look up, checked: the one rule (email_key) every door applies,
    the public forms' and the staff's alike (hostile review: staff-entered addresses were only
    trimmed and lower-cased, so one person typed by an agent and by themselves was two)."""
    value = email_key(value)
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(ERR_EMAIL, code="email") from None
    return value


def email_key(value: str) -> str:
    """An email address as the portal compares it: NFKC (full-width and other compatibility forms
    become the letters they show: full-width "pat" is pat), trimmed, lower
    case (not casefold: it would turn a domain's "ß" into "ss", another domain under IDNA 2008).
    Look-alike letters of other scripts are not mapped (they may be a real, other address):
    email_mixed_script flags them for a person to look at."""
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in `text`, by their Unicode names' first word (LATIN, CYRILLIC, ...)."""
    return {unicodedata.name(ch, "?").split()[0] for ch in text if ch.isalpha()}


def email_mixed_script(value: str) -> bool:
    """Whether a part of the address (the local part, or one label of the domain) mixes letters of
    more than one script, as a look-alike does ("example" spelt with a Cyrillic "a", U+0430)."""
    local, _, domain = email_key(value).rpartition("@")
    return any(len(_scripts(part)) > 1 for part in (local, *domain.split(".")))


def normalise_phone(value: str) -> str:
    """A phone number to E.164: any UK way of writing one (07911 123456, +44 (0)7911-123456,
    0044...) or an international number with its country code (+33 1 23 45 67 89, 0033...).
    A number with an extension is refused with a message (E.164 cannot hold one, and a
    silently dropped extension would be a changed record)."""
    value = (value or "").strip()
    if not value:
        return ""
    if value.startswith("00"):
        value = "+" + value[2:]
    value = value.replace("(0)", "")
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        raise ValidationError(ERR_PHONE, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(ERR_PHONE, code="phone")
    if number.extension:
        raise ValidationError(ERR_PHONE_EXTENSION, code="phone_extension")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(value: str) -> bool:
    digits = re.sub(r"[\s\-().]", "", value)
    return bool(re.fullmatch(r"\+?\d{10,15}", digits))


def format_phone(e164: str) -> str:
    """For display: the national format for UK numbers (07911 123456)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", (value or "")).upper()
    if not compact:
        return ""
    if not _POSTCODE.match(compact):
        raise ValidationError(ERR_POSTCODE, code="postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def address_key(line1: str, postcode: str) -> str:
    """The canonical postal identity for suppression: first line and postcode, squashed."""
    line = re.sub(r"[^A-Z0-9]+", " ", (line1 or "").upper()).strip()
    pc = re.sub(r"\s+", "", postcode or "").upper()
    return f"{line}|{pc}" if line and pc else ""
