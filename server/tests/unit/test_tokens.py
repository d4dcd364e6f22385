"""Task tokens: verified claims are kept per token, but never past the token's expiry; key ids and keys."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from baton_server.errors import UnauthorizedError
from baton_server.services import tokens
from baton_server.services.tokens import SigningKey, TokenService
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY = "k" * 64


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test__verify__known_token__same_claims_until_expiry_then_expired() -> None:
    clock = Clock()
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60, clock=clock)
    token = service.issue(uuid.uuid4(), 2, "execution")
    first = service.verify(token)
    assert service.verify(token) is first  # kept, not decoded again
    clock.now = first.expires_at - 0.001
    assert service.verify(token) is first
    clock.now = first.expires_at
    with pytest.raises(UnauthorizedError) as expired:
        service.verify(token)
    assert expired.value.reason == "token_expired"
    assert token not in service._verified


def test__issue__the_token_just_signed__verifies_without_decoding_with_the_claims_decoding_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    worker_id, ti_id = uuid.uuid4(), uuid.uuid4()
    workload = service.issue(ti_id, 3, "workload", worker_id=worker_id)
    execution = service.issue(ti_id, 3, "execution")
    decoded = {
        t: TokenService(KEY, workload_ttl=3600, execution_ttl=60).verify(t) for t in (workload, execution)
    }

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a token this service signed was decoded again")

    monkeypatch.setattr(jwt, "decode", no_decoding)
    assert service.verify(workload) == decoded[workload]
    assert service.verify(workload).worker_id == worker_id
    assert service.verify(execution) == decoded[execution]


def test__issue__the_token_just_signed__still_refused_once_expired() -> None:
    clock = Clock()
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60, clock=clock)
    token = service.issue(uuid.uuid4(), 1, "execution")
    clock.now = service.verify(token).expires_at
    with pytest.raises(UnauthorizedError) as expired:
        service.verify(token)
    assert expired.value.reason == "token_expired"


def test__verify__refused_tokens__never_kept() -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    forged = TokenService("x" * 64, workload_ttl=3600, execution_ttl=60).issue(uuid.uuid4(), 1, "execution")
    for _ in range(2):
        with pytest.raises(UnauthorizedError) as refused:
            service.verify(forged)
        assert refused.value.reason == "token_invalid"
    assert service._verified == {}


def _segment(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header",
    [
        "no-dots",
        "!!!.e30.sig",  # not base64url
        "e30.e30.sig",  # a header without alg: PyJWT refuses what the key lookup let through
        _segment([1, 2]) + ".e30.sig",  # a header that is not an object
        _segment({"alg": "HS256", "kid": 7}) + ".e30.sig",  # a kid that is not a string
        _segment({"alg": "HS256", "kid": "static"}) + "." + _segment({"sub": "x"}) + ".AAAA",
        base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".e30.sig",  # not UTF-8
    ],
)
async def test__verify__malformed_token__token_invalid(header: str) -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60, key_source=_no_keys)
    with pytest.raises(UnauthorizedError) as refused:
        await service.verify_async(header)
    assert refused.value.reason == "token_invalid"
    assert service._verified == {}


async def _no_keys(kid: str) -> None:
    return None


def test__verify__cache_is_bounded__oldest_dropped_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    issued = [service.issue(uuid.uuid4(), 1, "execution") for _ in range(5)]
    for token in issued:
        service.verify(token)
    assert list(service._verified) == issued[2:]
    assert service.verify(issued[0]).scope == "execution"  # dropped ones still verify, the long way


def _kid(token: str) -> str | None:
    kid: str | None = jwt.get_unverified_header(token).get("kid")
    return kid


def _legacy_token(key: str, scope: str = "execution") -> str:
    """A token as servers minted it before key ids existed: HS256 with the configured key, no ``kid``."""
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "aud": tokens.AUDIENCE, "scope": scope, "try": 1, "iat": now}
    return jwt.encode({**claims, "exp": now + 60, "jti": "x"}, key, algorithm="HS256")


def test__issue__names_the_configured_key__and_a_token_without_kid_still_verifies() -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    assert _kid(service.issue(uuid.uuid4(), 1, "execution")) == tokens.STATIC_KID
    legacy = _legacy_token(KEY)
    assert _kid(legacy) is None
    assert service.verify(legacy).kid == tokens.STATIC_KID


@pytest.mark.parametrize("kid", ["20261203101010-0123abcd", "nope", 7])
def test__verify__a_kid_the_service_does_not_hold__refused_even_if_the_signature_matches_a_held_key(
    kid: object,
) -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "aud": tokens.AUDIENCE, "scope": "execution", "try": 1}
    forged = _hand_signed({"alg": "HS256", "typ": "JWT", "kid": kid}, {**claims, "iat": now, "exp": now + 60})
    with pytest.raises(UnauthorizedError) as refused:
        service.verify(forged)
    assert refused.value.reason == "token_invalid"
    same_claims = _hand_signed(
        {"alg": "HS256", "typ": "JWT", "kid": "static"}, {**claims, "iat": now, "exp": now + 60}
    )
    assert service.verify(same_claims).kid == tokens.STATIC_KID  # the kid alone made the difference


async def test__verify_async__unknown_kid__looked_up_once_then_not_again_within_a_second() -> None:
    clock = Clock()
    asked: list[str] = []
    rotated = SigningKey("20261203101010-0123abcd", "HS256", "r" * 64, "r" * 64)

    async def source(kid: str) -> SigningKey | None:
        asked.append(kid)
        return rotated if kid == rotated.kid and len(asked) > 2 else None

    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60, clock=clock, key_source=source)
    other = TokenService(None, workload_ttl=3600, execution_ttl=60)
    other.install([rotated], rotated.kid)
    token = other.issue(uuid.uuid4(), 1, "execution")
    for _ in range(3):
        with pytest.raises(UnauthorizedError):
            await service.verify_async(token)
    assert asked == [rotated.kid]  # not asked again within UNKNOWN_KID_RETRY
    clock.now += tokens.UNKNOWN_KID_RETRY
    with pytest.raises(UnauthorizedError):
        await service.verify_async(token)
    clock.now += tokens.UNKNOWN_KID_RETRY
    assert (await service.verify_async(token)).kid == rotated.kid  # the key now exists: learnt
    assert len(asked) == 3
    await service.verify_async(other.issue(uuid.uuid4(), 1, "execution"))
    assert len(asked) == 3  # held now: no more lookups
    # Key ids of another shape are never worth a query.
    with pytest.raises(UnauthorizedError):
        await service.verify_async(_with_kid(token, "../../etc"))
    assert len(asked) == 3


def _hand_signed(header: dict[str, object], claims: dict[str, object]) -> str:
    """HS256 with the configured key, whatever the header says (PyJWT refuses a non-string kid)."""
    return _sign(_key("HS256"), header, claims)


def _with_kid(token: str, kid: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, KEY, algorithm="HS256", headers={"kid": kid})


def test__install__a_key_no_longer_held__its_cached_tokens_refused_too() -> None:
    rotated = SigningKey("20261203101010-0123abcd", "HS256", "r" * 64, "r" * 64)
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    service.install([rotated], rotated.kid)
    token = service.issue(uuid.uuid4(), 1, "execution")
    static_token = _legacy_token(KEY)
    assert service.verify(token).kid == rotated.kid
    assert service.verify(static_token).kid == tokens.STATIC_KID
    service.install([], None, keep_static=True)  # the rotated key dropped: the configured key signs again
    with pytest.raises(UnauthorizedError):
        service.verify(token)
    service.install([rotated], rotated.kid, keep_static=False)  # the configured key expired
    with pytest.raises(UnauthorizedError):
        service.verify(static_token)
    with pytest.raises(ValueError, match="cannot sign"):
        service.install([SigningKey("x", "HS256", "v" * 64)], "x")  # a key that only verifies cannot sign


def test__ed25519__a_verifier_with_the_public_key_verifies_but_cannot_mint() -> None:
    private = Ed25519PrivateKey.generate()
    signer = TokenService(None, workload_ttl=3600, execution_ttl=600)
    signer.install([SigningKey("k1", "EdDSA", private.public_key(), private)], "k1")
    verifier = TokenService(None, workload_ttl=3600, execution_ttl=600)
    verifier.add(SigningKey("k1", "EdDSA", private.public_key()))
    token = signer.issue(uuid.uuid4(), 1, "execution")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert verifier.verify(token).kid == "k1"
    with pytest.raises(RuntimeError):
        verifier.issue(uuid.uuid4(), 1, "execution")
    # A token naming the Ed25519 key but signed HS256 (with its public key's bytes, say) is refused.
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "aud": tokens.AUDIENCE, "scope": "execution", "try": 1}
    confused = jwt.encode(
        {**claims, "iat": now, "exp": now + 60}, "k" * 32, algorithm="HS256", headers={"kid": "k1"}
    )
    with pytest.raises(UnauthorizedError):
        verifier.verify(confused)
    assert public.startswith(b"-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA"])
def test__issue__the_same_token_jwt_encode_makes__with_each_active_key(algorithm: str) -> None:
    # Tokens are signed with the key prepared once; they are what PyJWT's encode makes of the same
    # claims, byte for byte (Ed25519's signatures are deterministic), with every key made active.
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=600)
    for kid in ("k1", "k2"):
        signing: object
        verifying: object
        if algorithm == "HS256":
            signing = verifying = f"{kid}-" + "s" * 40
        else:
            private = Ed25519PrivateKey.generate()
            signing, verifying = private, private.public_key()
        service.install([SigningKey(kid, algorithm, verifying, signing)], kid)
        worker = uuid.uuid4()
        token = service.issue(uuid.uuid4(), 2, "workload", worker_id=worker)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["wid"] == str(worker)
        assert token == jwt.encode(claims, signing, algorithm=algorithm, headers={"kid": kid})  # type: ignore[arg-type]
        assert service.verify(token).kid == kid


_REQUIRED = ["sub", "aud", "exp", "iat", "scope", "try"]
_ABSENT = object()


def _pyjwt_outcome(token: str, key: SigningKey) -> object:
    """What ``jwt.decode`` with the service's options makes of ``token``: its claims or how it refuses."""
    try:
        claims: object = jwt.decode(
            token,
            key.verifying,
            algorithms=[key.algorithm],
            audience=tokens.AUDIENCE,
            options={"require": _REQUIRED},
        )
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidAudienceError:
        return "audience"
    except jwt.PyJWTError:
        return "malformed"
    except OverflowError:  # PyJWT lets int() of an infinite time escape: the service refuses it instead
        return "malformed"
    return claims


def _our_outcome(token: str, key: SigningKey) -> object:
    try:
        return tokens._Verifier.of(key).claims(token, time.time())
    except tokens._RefusedError as refused:
        return refused.reason


def _sign(key: SigningKey, header: object, claims: object, *, payload_segment: str | None = None) -> str:
    """A token of ``header`` and ``claims`` signed with ``key``, whatever they hold."""
    head = _segment(header)
    body = _segment(claims) if payload_segment is None else payload_segment
    algorithm = jwt.get_algorithm_by_name(key.algorithm)
    signature = algorithm.sign(f"{head}.{body}".encode(), algorithm.prepare_key(key.signing))
    return f"{head}.{body}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def _key(algorithm: str, secret: str = KEY) -> SigningKey:
    """A key of ``algorithm`` named ``static``: the configured secret for HS256, a new pair for EdDSA."""
    if algorithm == "HS256":
        return SigningKey("static", "HS256", secret, secret)
    private = Ed25519PrivateKey.generate()
    return SigningKey("static", "EdDSA", private.public_key(), private)


def _corpus(key: SigningKey, other: SigningKey) -> list[str]:
    """Tokens signed with ``key``, good ones and ones whose header, claims or spelling is wrong."""
    now = int(time.time())
    base: dict[str, object] = {
        "sub": str(uuid.uuid4()), "aud": tokens.AUDIENCE, "scope": "execution", "try": 1,
        "iat": now, "exp": now + 60, "jti": "x",
    }  # fmt: skip
    header: dict[str, object] = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
    claim_cases: dict[str, list[object]] = {
        "sub": [_ABSENT, None, 5, [], "not-a-uuid", ""],
        "aud": [_ABSENT, None, "", [], "other", [tokens.AUDIENCE], ["other"], [tokens.AUDIENCE, "x"], [1],
                [tokens.AUDIENCE, 1], {"a": 1}, 5, True],
        "exp": [_ABSENT, None, now - 1, now, now + 0.5, "x", str(now + 60), True, [now], float("inf"),
                10**30],
        "iat": [_ABSENT, None, now + 3600, "x", str(now), 1.5, True, float("inf"), float("nan"), -5],
        "nbf": [None, now - 10, now + 3600, "x", float("nan")],
        "scope": [_ABSENT, None, "admin", "workload"],
        "try": [_ABSENT, None, -1, 2**31, "1", True, 0],
        "jti": [_ABSENT, None, 5],
        "wid": [str(uuid.uuid4()), "nope"],
    }  # fmt: skip
    corpus = [_sign(key, header, base), _sign(key, {"alg": key.algorithm, "typ": "JWT"}, base)]
    for name, values in claim_cases.items():
        for value in values:
            claims = {k: v for k, v in base.items() if k != name}
            if value is not _ABSENT:
                claims[name] = value
            corpus.append(_sign(key, header, claims))
    corpus.append(_sign(key, header, {**base, "iat": now + 3600, "exp": now - 5}))  # which check comes first
    corpus.append(_sign(key, header, {**base, "exp": now - 5, "aud": "other"}))
    corpus.append(_sign(key, header, {**base, "aud": "other", "sub": 5}))
    for changed in (
        {"alg": None}, {"alg": "none"}, {"alg": "HS512"}, {"alg": key.algorithm.lower()},
        {"alg": [key.algorithm]},
        {"alg": "EdDSA" if key.algorithm == "HS256" else "HS256"}, {"kid": 7}, {"typ": "other"},
        {"b64": True}, {"b64": "no"}, {"b64": False}, {"crit": ["b64"], "b64": True}, {"crit": ["b64"]},
        {"crit": []}, {"crit": "b64"}, {"crit": [1]}, {"crit": ["exp"]},
    ):  # fmt: skip
        corpus.append(_sign(key, {**header, **changed}, base))
    corpus.append(_sign(key, {k: v for k, v in header.items() if k != "alg"}, base))
    corpus.append(_sign(key, {**header, "b64": False}, base, payload_segment=""))
    corpus.append(_sign(key, [header], base))
    corpus.append(_sign(key, header, [base]))
    corpus.append(_sign(key, header, None, payload_segment=base64.urlsafe_b64encode(b"\xff\xfe{}").decode()))
    corpus.append(_sign(key, header, None, payload_segment="bm90IGpzb24"))  # "not json"
    corpus.append(_sign(key, header, None, payload_segment=""))
    deep = base64.urlsafe_b64encode(b"[" * 100_000).rstrip(b"=").decode()
    corpus.append(_sign(key, header, None, payload_segment=deep))
    good = corpus[0]
    head, body, signature = good.split(".")
    flipped = body[:-1] + ("B" if body[-1] == "A" else "A")
    corpus += [
        good + "=", f"{head}.{body}=.{signature}", f"{head}.{body}==.{signature}",
        f"{head}===.{body}.{signature}",
        f"{head}.{body}.{signature}==", good + "\n", " " + good, good[:-1] + "!", good.replace(".", "é", 1),
        f"{head}.{body}", f"{head}.{body}.{signature}.x", f"{head}..{signature}", f"..{signature}", "..",
        f"{head}.{flipped}.{signature}", f"{head}.{body}.{signature[:-2]}", f"{head}.{body}.",
        _sign(other, header, base),
    ]  # fmt: skip
    for segment in range(3):  # a last character whose unused bits are set: not the canonical spelling
        parts = good.split(".")
        last = parts[segment][-1]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if len(parts[segment]) % 4 in (2, 3):
            parts[segment] = parts[segment][:-1] + alphabet[alphabet.index(last) | 1]
            corpus.append(".".join(parts))
    for padded in range(3):  # a segment padded to a multiple of four, as some issuers do
        parts = good.split(".")
        parts[padded] += "=" * (-len(parts[padded]) % 4)
        corpus.append(".".join(parts))
    return corpus


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA"])
def test__verifier__every_token__the_answer_jwt_decode_gives(algorithm: str) -> None:
    # The service verifies with its keys prepared once, not with jwt.decode; it must accept exactly the
    # tokens jwt.decode accepts, with the same claims, and refuse the others for the same reason.
    key = _key(algorithm)
    corpus = _corpus(key, _key(algorithm, "o" * 64))
    outcomes = []
    for token in corpus:
        expected, got = _pyjwt_outcome(token, key), _our_outcome(token, key)
        assert got == expected, token
        outcomes.append(got if isinstance(got, str) else "accepted")
    # Good tokens and every kind of refusal are in the corpus.
    assert {o: outcomes.count(o) >= 3 for o in ("accepted", "malformed", "expired", "audience")} == {
        "accepted": True, "malformed": True, "expired": True, "audience": True
    }  # fmt: skip


def test__verifier__expiry_is_exclusive__a_token_is_expired_at_its_exp() -> None:
    claims = {"sub": "s", "aud": tokens.AUDIENCE, "scope": "execution", "try": 1, "iat": 50, "exp": 100}
    tokens._check_claims(claims, 99.999)
    with pytest.raises(tokens._RefusedError) as refused:
        tokens._check_claims(claims, 100.0)
    assert refused.value.reason == "expired"


def test__install__a_key_no_longer_held__its_prepared_verifier_dropped_too() -> None:
    rotated = SigningKey("20261203101010-0123abcd", "HS256", "r" * 64, "r" * 64)
    signer = TokenService(None, workload_ttl=3600, execution_ttl=60)
    signer.install([rotated], rotated.kid)
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    service.install([rotated], rotated.kid)
    assert service.verify(signer.issue(uuid.uuid4(), 1, "execution")).kid == rotated.kid  # the long way
    assert set(service._verifiers) == {rotated.kid}
    service.install([], None)
    assert service._verifiers == {}
