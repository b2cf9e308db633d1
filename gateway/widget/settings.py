"""A tenant's widget settings: how the widget looks on their site (title, colour, side, language),
what the pre-chat form asks (and which queue a department picker sends the chat to), when it
invites visitors proactively, and which extras it offers, and what co-browsing may see and do. Kept in tenants.settings["widget"] and
read at each use, so every gateway process sees a change at once.

The same settings serve two readers: the tenant admin (everything, including queue ids) and the
visitor's widget (`public_config`: what the page needs, never a queue id)."""

from __future__ import annotations

import re
from typing import Any, Literal

import cssselect
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config import UploadConfig

FIELD_NAME = r"^[a-z][a-z0-9_]{0,39}$"
# Fields the widget always has; a custom field of the same name would be ambiguous.
RESERVED_FIELDS = frozenset({"name", "email", "text", "message"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldOption(_Strict):
    value: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=100)
    # A department picker: choosing this option sends the chat to this queue.
    queue_id: str | None = Field(None, min_length=1, max_length=64)


class PrechatField(_Strict):
    name: str = Field(pattern=FIELD_NAME)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "textarea", "email", "tel", "select"] = "text"
    required: bool = False
    options: list[FieldOption] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _options_fit_type(self) -> "PrechatField":
        if self.name in RESERVED_FIELDS:
            raise ValueError(f"{self.name!r} is built in; give the custom field another name")
        if self.type == "select" and not self.options:
            raise ValueError(f"select field {self.name!r} needs options")
        if self.type != "select" and self.options:
            raise ValueError(f"only select fields have options ({self.name!r} is {self.type})")
        values = [o.value for o in self.options]
        if len(values) != len(set(values)):
            raise ValueError(f"field {self.name!r} has the same option value twice")
        return self


Ask = Literal["required", "optional", "hidden"]


class Prechat(_Strict):
    enabled: bool = True
    name: Ask = "optional"
    email: Ask = "optional"
    fields: list[PrechatField] = Field(default_factory=list, max_length=20)

    @field_validator("fields")
    @classmethod
    def _unique_names(cls, fields: list[PrechatField]) -> list[PrechatField]:
        names = [f.name for f in fields]
        if len(names) != len(set(names)):
            raise ValueError("two pre-chat fields have the same name")
        return fields


class ProactiveRule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    message: str = Field(min_length=1, max_length=300)
    after_seconds: int = Field(30, ge=0, le=3600)
    # A glob on the page's path ("*" matches anything, "" every page), e.g. "/pricing*".
    url_pattern: str = Field("", max_length=200)


class Features(_Strict):
    attachments: bool = True
    csat: bool = True
    transcript: bool = False
    calls: bool = True  # "Call us", where a channel carries web calls for the tenant


_TRANSLATOR = cssselect.GenericTranslator()


def _css_selector(selector: str) -> str:
    """A selector the visitor's browser can match elements with (element.matches), or a clear
    error. cssselect parses and translates it, which also refuses unknown pseudo-classes (a typo
    such as ":privat" would make the browser throw the whole list away, and stream those parts)."""
    try:
        parsed = cssselect.parse(selector)
        if any(s.pseudo_element for s in parsed):
            raise ValueError(f"{selector!r} names a pseudo-element; select the element itself")
        if ":contains(" in selector:  # cssselect's own addition, not CSS
            raise ValueError(f"{selector!r}: browsers have no :contains(); mark such text with data-wecc-mask")
        _TRANSLATOR.css_to_xpath(selector)
    except cssselect.SelectorError as err:
        raise ValueError(f"{selector!r} is not a CSS selector browsers understand: {err}") from None
    return selector.strip()


class Cobrowse(_Strict):
    """Co-browsing on the tenant's site. What the recorder never sends, whatever these say: input
    values (masked), password, card-number and one-time-code fields (blocked), data-wecc-mask text
    and data-wecc-block elements; the selectors add the site's own private parts."""

    enabled: bool = True
    control: bool = True  # agents may ask the visitor to let them click and type for them
    mask_selectors: list[str] = Field(default_factory=list, max_length=50)  # text shown as ****
    block_selectors: list[str] = Field(default_factory=list, max_length=50)  # elements never sent

    @field_validator("mask_selectors", "block_selectors")
    @classmethod
    def _selectors(cls, selectors: list[str]) -> list[str]:
        for selector in selectors:
            if not 0 < len(selector) <= 300:
                raise ValueError("a selector has 1 to 300 characters")
        return [_css_selector(s) for s in selectors]


class WidgetSettings(_Strict):
    """What a tenant admin sets; every field has a working default."""

    title: str = Field("", max_length=60)  # "": the widget's own words, in the visitor's language
    subtitle: str = Field("", max_length=120)
    color: str = Field("#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    position: Literal["right", "left"] = "right"
    locale: Literal["auto", "en", "zh-CN"] = "auto"
    prechat: Prechat = Field(default_factory=Prechat)
    proactive: list[ProactiveRule] = Field(default_factory=list, max_length=20)
    features: Features = Field(default_factory=Features)
    cobrowse: Cobrowse = Field(default_factory=Cobrowse)

    @field_validator("proactive")
    @classmethod
    def _unique_rules(cls, rules: list[ProactiveRule]) -> list[ProactiveRule]:
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            raise ValueError("two proactive rules have the same id")
        return rules

    @classmethod
    def of(cls, tenant_settings: Any) -> "WidgetSettings":
        raw = tenant_settings.get("widget") if isinstance(tenant_settings, dict) else None
        return cls.model_validate(raw or {})

    def queue_ids(self) -> set[str]:
        return {o.queue_id for f in self.prechat.fields for o in f.options if o.queue_id}

    def public_config(self, uploads: UploadConfig) -> dict[str, Any]:
        """What the visitor's widget is told: no queue ids (they are the tenant's internals)."""
        config = self.model_dump(mode="json")
        for field in config["prechat"]["fields"]:
            for option in field["options"]:
                option.pop("queue_id", None)
        config["uploads"] = {"max_bytes": uploads.max_bytes, "allowed_types": list(uploads.allowed_types)}
        return config


class PrechatRefused(ValueError):
    pass


def check_prechat(prechat: Prechat, name: str, email: str, fields: dict[str, str]) -> str | None:
    """Validates a submitted pre-chat form against the tenant's form; returns the queue the
    department picker chose, if any. Unknown fields are refused rather than silently kept."""
    if prechat.enabled:
        if prechat.name == "required" and not name.strip():
            raise PrechatRefused("please give your name")
        if prechat.email == "required" and not email.strip():
            raise PrechatRefused("please give your e-mail address")
    if email.strip() and not looks_like_email(email):
        raise PrechatRefused("that e-mail address does not look right")
    known = {f.name: f for f in prechat.fields} if prechat.enabled else {}
    unknown = sorted(set(fields) - known.keys())
    if unknown:
        raise PrechatRefused(f"unknown form field(s): {', '.join(unknown)}")
    queue_id = None
    for field in known.values():
        value = fields.get(field.name, "").strip()
        if not value:
            if field.required:
                raise PrechatRefused(f"please fill in {field.label}")
            continue
        if field.type == "select":
            option = next((o for o in field.options if o.value == value), None)
            if option is None:
                raise PrechatRefused(f"{value!r} is not a choice of {field.label}")
            queue_id = option.queue_id or queue_id
        elif field.type == "email" and not looks_like_email(value):
            raise PrechatRefused(f"{field.label} is not an e-mail address")
    return queue_id


# Deliberately loose: a typo check for a form, not RFC 5322 (the address is never mailed unasked).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def looks_like_email(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))
