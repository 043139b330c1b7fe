"""Constrained decoding: a causal LM writes JSON that always matches a JSON schema.

A small model left to itself writes broken JSON, invents argument names and runs on. Here the
decoder walks the schema and lets the model decide only what is genuinely open:

- structure (braces, keys, commas, quotes) is written by the decoder, never sampled;
- a choice (an enum, a boolean, which optional property comes next, whether an array goes on,
  which tool) is made by scoring each option's full token sequence under the model and taking the
  most likely one;
- a free string is generated token by token with every token that would break the string (a
  quote, a backslash, a control character, a partial UTF-8 byte) masked out, and stops when the
  model prefers to close the quote or when the schema's `maxLength` (or the decoder's default
  bound) is reached. Every string is bounded, so a call can never run away;
- an integer or number is generated from digit tokens only.

The result is built as Python values in step with the text fed to the model, so it never needs
parsing and is schema-valid by construction. Scoring an option feeds its tokens through the KV
cache and crops them off again, so choices cost a few token steps, not a new prompt.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_STRING_CHARS = 120
DEFAULT_MAX_ITEMS = 6
MAX_INTEGER_DIGITS = 12


class SchemaError(ValueError):
    """A schema the decoder cannot write values for."""


@dataclass(frozen=True)
class Vocabulary:
    """Per-token facts the masks need, computed once per tokenizer."""

    texts: list[str]
    string_safe: Any  # bool tensor: tokens allowed inside a JSON string
    closes_string: Any  # bool tensor: tokens starting with '"'
    digits: Any  # bool tensor: tokens made of digits only
    lengths: Any  # int tensor: characters per token
    nonblank: Any  # bool tensor: tokens with a non-space character
    # UTF-8 state machine over the tokens' raw bytes, for characters split across tokens (CJK,
    # emoji): in_string[k] allows a token when k continuation bytes are pending (k = 0..3)
    in_string: Any = None  # bool tensor [4, vocab]
    next_state: Any = None  # int tensor [4, vocab]: continuation bytes pending after the token
    starts: Any = None  # int tensor: characters each token starts (its non-continuation bytes)

    @classmethod
    def of(cls, tokenizer: Any) -> Vocabulary:
        import torch

        size = len(tokenizer)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        texts = [
            "" if i in special else tokenizer.decode([i], clean_up_tokenization_spaces=False)
            for i in range(size)
        ]

        def safe(text: str) -> bool:
            return bool(text) and not any(
                ch in '"\\\ufffd' or ord(ch) < 32 or ch == "\x7f" for ch in text
            )

        raw = [b"" if i in special else _token_bytes(tokenizer, i) for i in range(size)]
        in_string = torch.zeros((4, size), dtype=torch.bool)
        next_state = torch.zeros((4, size), dtype=torch.long)
        for i, data in enumerate(raw):
            for k in range(4):
                end = _utf8_walk(data, k)
                if end is not None:
                    in_string[k, i] = True
                    next_state[k, i] = end
        return cls(
            in_string=in_string,
            next_state=next_state,
            starts=torch.tensor([sum(1 for b in data if not 0x80 <= b < 0xC0) for data in raw]),
            texts=texts,
            string_safe=torch.tensor([safe(t) for t in texts]),
            closes_string=torch.tensor([t.startswith('"') for t in texts]),
            digits=torch.tensor([bool(t) and t.isascii() and t.isdigit() for t in texts]),
            lengths=torch.tensor([len(t) for t in texts]),
            nonblank=torch.tensor([bool(t.strip()) for t in texts]),
        )


class DecodingSession:
    """A growing token sequence with its KV cache and the logits for the next token."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        vocabulary: Vocabulary,
        prompt_ids: list[int],
        *,
        cache: Any = None,
        cached_tokens: int = 0,
    ):
        """`cache` (optional) already holds the first `cached_tokens` of `prompt_ids`."""
        import torch
        from transformers import DynamicCache

        self._torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.cache = cache if cache is not None else DynamicCache()
        self.generated: list[int] = []
        self.logits = self._forward(prompt_ids[cached_tokens if cache is not None else 0 :])[-1]

    def _forward(self, ids: Sequence[int]) -> Any:
        torch = self._torch
        tensor = torch.tensor([list(ids)], dtype=torch.long)
        out = self.model(input_ids=tensor, past_key_values=self.cache, use_cache=True)
        return out.logits[0].float()

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def feed(self, ids: Sequence[int]) -> None:
        if ids:
            self.logits = self._forward(ids)[-1]
            self.generated.extend(ids)

    def feed_text(self, text: str) -> None:
        self.feed(self.encode(text))

    def log_likelihood(self, ids: Sequence[int]) -> float:
        """log P(ids | sequence so far), leaving the session unchanged."""
        torch = self._torch
        if not ids:
            return 0.0
        total = float(torch.log_softmax(self.logits, -1)[ids[0]])
        if len(ids) > 1:
            logits = self._forward(ids[:-1])
            logprobs = torch.log_softmax(logits, -1)
            total += float(sum(logprobs[i, ids[i + 1]] for i in range(len(ids) - 1)))
            self.cache.crop(-(len(ids) - 1))
        return total

    def choose(self, options: Sequence[str]) -> int:
        """Index of the most likely option; its tokens are then fed."""
        if not options:
            raise SchemaError("nothing to choose from")
        encoded = [self.encode(option) for option in options]
        if len(options) == 1:
            best = 0
        else:
            scores = [self.log_likelihood(ids) for ids in encoded]
            best = max(range(len(options)), key=lambda i: scores[i])
        self.feed(encoded[best])
        return best

    def top_token_is(self, text: str) -> bool:
        ids = self.encode(text)
        return len(ids) == 1 and int(self.logits.argmax()) == ids[0]

    def next_token(self, allowed: Any) -> int:
        logits = self.logits.masked_fill(~allowed, -math.inf)
        return int(logits.argmax())

    def free_string(self, max_chars: int, min_chars: int = 1) -> str:
        """A JSON string's content (the opening quote already fed); feeds the closing quote.

        Tokens are taken by their raw bytes: a character split over several tokens (any CJK
        character in a byte-level BPE vocabulary) is written piece by piece, and the string
        closes only on a whole character."""
        vocabulary = self.vocabulary
        ids: list[int] = []
        text = ""
        chars = 0  # characters started (a pending partial one counts)
        state = 0  # UTF-8 continuation bytes still expected
        while True:
            if state == 0 and chars >= max_chars:
                break
            allowed = vocabulary.in_string[state] & (vocabulary.starts <= max_chars - chars)
            if state == 0:
                if len(text.strip()) >= min_chars:
                    allowed |= vocabulary.closes_string
                elif not text.strip():
                    allowed &= vocabulary.nonblank
            if not bool(allowed.any()):
                break
            token = self.next_token(allowed)
            if state == 0 and bool(vocabulary.closes_string[token]):
                break
            self.feed([token])
            ids.append(token)
            state = int(vocabulary.next_state[state, token])
            chars += int(vocabulary.starts[token])
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
        self.feed_text('"')
        return text.rstrip("\ufffd")

    def integer(self, *, allow_fraction: bool = False) -> int | float:
        """Digits the model writes (at least one); stops when it prefers anything else."""
        vocabulary = self.vocabulary
        text = ""
        negative = False
        minus = self.encode("-")
        if len(minus) == 1 and int(self.logits.argmax()) == minus[0]:
            negative = True
            self.feed(minus)
        while len(text) < MAX_INTEGER_DIGITS:
            best = int(self.logits.argmax())
            if text and not bool(vocabulary.digits[best]):
                if allow_fraction and "." not in text and vocabulary.texts[best] == ".":
                    self.feed([best])
                    text += "."
                    continue
                break
            token = self.next_token(vocabulary.digits)
            self.feed([token])
            text += vocabulary.texts[token]
        text = text.rstrip(".") or "0"
        value: int | float = float(text) if "." in text else int(text)
        return -value if negative else value


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-unicode table, inverted (byte-level BPE token text -> raw bytes)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


_BYTE_DECODER = _byte_decoder()


def _token_bytes(tokenizer: Any, token_id: int) -> bytes:
    """The raw bytes a token stands for (byte-level BPE, SentencePiece byte fallback or text)."""
    piece = tokenizer.convert_ids_to_tokens(token_id)
    if isinstance(piece, str):
        if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            return bytes([int(piece[3:5], 16)])
        if piece and all(ch in _BYTE_DECODER for ch in piece):
            return bytes(_BYTE_DECODER[ch] for ch in piece)
    return tokenizer.decode([token_id], clean_up_tokenization_spaces=False).encode("utf-8")


def _utf8_walk(data: bytes, pending: int) -> int | None:
    """Continuation bytes pending after `data` when `pending` were pending before, or None when
    `data` would break the string: bad UTF-8, a quote, a backslash or a control character."""
    if not data:
        return None
    for b in data:
        if pending:
            if not 0x80 <= b < 0xC0:
                return None
            pending -= 1
        elif b < 0x20 or b in (0x22, 0x5C, 0x7F):
            return None
        elif b < 0x80:
            continue
        elif 0xC2 <= b < 0xE0:
            pending = 1
        elif 0xE0 <= b < 0xF0:
            pending = 2
        elif 0xF0 <= b < 0xF5:
            pending = 3
        else:
            return None
    return pending


def resolve_schema(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """`schema` with `$ref` followed and nullable unions reduced to their non-null member."""
    seen = 0
    while "$ref" in schema:
        seen += 1
        if seen > 32:
            raise SchemaError("circular $ref")
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise SchemaError(f"unsupported $ref {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            members = [m for m in schema[key] if m.get("type") != "null"] or schema[key]
            rest = {k: v for k, v in schema.items() if k != key}
            return resolve_schema({**rest, **members[0]}, root)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return resolve_schema({**rest, **schema["allOf"][0]}, root)
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"] or kind
        schema = {**schema, "type": non_null[0]}
    return schema


_OPENERS = {"string": '"', "object": "{", "array": "["}


class JsonWriter:
    """Writes one JSON value for a schema through a `DecodingSession`."""

    def __init__(
        self,
        session: DecodingSession,
        root: dict[str, Any],
        *,
        max_string_chars: int = DEFAULT_MAX_STRING_CHARS,
        max_items: int = DEFAULT_MAX_ITEMS,
    ):
        self.session = session
        self.root = root
        self.max_string_chars = max_string_chars
        self.max_items = max_items

    def value(self, schema: dict[str, Any]) -> Any:
        schema = resolve_schema(schema, self.root)
        if "const" in schema:
            self.session.feed_text(json.dumps(schema["const"]))
            return schema["const"]
        if "enum" in schema:
            return self._choice(list(schema["enum"]))
        kind = schema.get("type")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        writer: Callable[[dict[str, Any]], Any] | None = {
            "object": self._object,
            "array": self._array,
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda _: self._choice([True, False]),
            "null": lambda _: self._choice([None]),
        }.get(kind)
        if writer is None:
            raise SchemaError(f"unsupported type {kind!r}")
        return writer(schema)

    def _choice(self, values: list[Any]) -> Any:
        if not values:
            raise SchemaError("empty enum")
        return values[self.session.choose([json.dumps(v) for v in values])]

    def _string(self, schema: dict[str, Any]) -> str:
        limit = min(int(schema.get("maxLength", self.max_string_chars)), self.max_string_chars)
        minimum = min(int(schema.get("minLength", 1)), limit)
        self.session.feed_text('"')
        text = self.session.free_string(max(limit, 1), min_chars=max(minimum, 1))
        return text.strip()

    def _integer(self, schema: dict[str, Any]) -> int:
        value = int(self.session.integer())
        return int(self._clamp(value, schema, integer=True))

    def _number(self, schema: dict[str, Any]) -> float:
        value = float(self.session.integer(allow_fraction=True))
        return float(self._clamp(value, schema, integer=False))

    @staticmethod
    def _clamp(value: Any, schema: dict[str, Any], *, integer: bool) -> Any:
        # The text fed stays as written; the returned value respects the bounds.
        if "minimum" in schema:
            low = schema["minimum"]
            value = max(value, math.ceil(low) if integer else low)
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            low = schema["exclusiveMinimum"]
            value = math.floor(low) + 1 if integer else math.nextafter(low, math.inf)
        if "maximum" in schema:
            high = schema["maximum"]
            value = min(value, math.floor(high) if integer else high)
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            high = schema["exclusiveMaximum"]
            value = math.ceil(high) - 1 if integer else math.nextafter(high, -math.inf)
        return value

    def _array(self, schema: dict[str, Any], *, opened: bool = False) -> list[Any]:
        """An array; `opened`: its '[' was already fed."""
        items = resolve_schema(schema.get("items", {"type": "string"}), self.root)
        min_items = int(schema.get("minItems", 0))
        # the decoder's bound never cuts an array below its schema's minItems
        max_items = max(min(int(schema.get("maxItems", self.max_items)), self.max_items), min_items)
        values: list[Any] = []
        if not opened:
            self.session.feed_text("[")
        enum = list(items["enum"]) if "enum" in items else None
        while len(values) < max_items:
            prefix = ", " if values else ""
            may_stop = len(values) >= min_items
            if enum is not None:
                remaining = [v for v in enum if v not in values]
                if not remaining:
                    break
                options = [prefix + json.dumps(v) for v in remaining]
                picked = self.session.choose(options + (["]"] if may_stop else []))
                if picked == len(options):
                    return values
                values.append(remaining[picked])
                continue
            opener = prefix or _OPENERS.get(str(items.get("type")), "")
            if may_stop:
                if opener:
                    if self.session.choose(["]", opener]) == 0:
                        return values
                    opened = not prefix
                elif self.session.top_token_is("]"):
                    self.session.feed_text("]")
                    return values
                else:
                    opened = False
            else:
                self.session.feed_text(prefix)
                opened = False
            values.append(self._item(items, opened=opened))
        self.session.feed_text("]")
        return values

    def _item(self, items: dict[str, Any], *, opened: bool) -> Any:
        """An array item; `opened`: its opening character was already fed."""
        if not opened:
            return self.value(items)
        kind = items.get("type")
        if kind == "string":
            limit = min(int(items.get("maxLength", self.max_string_chars)), self.max_string_chars)
            return self.session.free_string(max(limit, 1)).strip()
        if kind == "array":
            return self._array(items, opened=True)
        return self._object(items, opened=True)

    def _object(self, schema: dict[str, Any], *, opened: bool = False) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = [name for name in properties if name in set(schema.get("required", []))]
        optional = [name for name in properties if name not in set(required)]
        result: dict[str, Any] = {}
        if not opened:
            self.session.feed_text("{")
        for name in required:
            self.session.feed_text(("" if not result else ", ") + json.dumps(name) + ": ")
            result[name] = self.value(properties[name])
        remaining = list(optional)
        while remaining:
            sep = ", " if result else ""
            options = [sep + json.dumps(name) + ": " for name in remaining] + ["}"]
            picked = self.session.choose(options)
            if picked == len(remaining):
                return result
            name = remaining[picked]
            # keep schema order: properties before the chosen one are skipped for good
            remaining = remaining[picked + 1 :]
            result[name] = self.value(properties[name])
        self.session.feed_text("}")
        return result
