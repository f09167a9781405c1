"""Each role may write only its own provider's keys (issue 15, item 6: dynamodb:LeadingKeys).

A receiver's PutItem is allowed only for the partition keys (`pk`) its code writes:
`<provider>#<key>` for the endpoint default, `<provider>/<endpoint>#<key>` for the others, and
conflict records `<pk>#conflict#<sha256>` (shared/src/store/schema.rs). The drain writes any
provider's queued records: the four providers' keys, no other. DescribeTable (the cold-start
warm-up) names no key and has a statement of its own, without the condition.

moto does not enforce IAM, and no policy simulator runs offline, so this is a careful static
check: `allowed()` below evaluates the roles' statements as IAM does, for the subset of IAM the
template uses (and raises on anything else, so a new operator fails here until it is modelled):

- a request is allowed when some Allow statement matches its action (`*` and `?` wildcards,
  case-insensitive), its resource, and every condition (operators and keys ANDed, the values of
  one key ORed); the roles have no Deny (test_template_iam.py asserts Allow only);
- `StringLike`: `*` matches any run of characters (the empty one too, `#` and `/` included),
  `?` exactly one, case-sensitive; no policy variables (`${...}`) are used, and one would fail;
- `ForAllValues:` holds when every value of the request's key matches some pattern, and also
  when the request has no such key: IAM's documented rule, which makes a misspelled condition
  key allow everything (a test below shows the check catching that). A PutItem always carries
  its key, so the rule does not weaken the grants; it is why DescribeTable, which carries none,
  is kept apart, where a key condition could only mislead;
- condition key names are case-insensitive, as in IAM.

The keys tried are those the code writes for every provider: the endpoint default, endpoints
like `staging`, conflict records, keys that themselves contain `#`, `/`, `*`, `?` or another
provider's name, a hashed key; and the key examples of schema.rs's own tests. Each must be
allowed for its own receiver and the drain, and refused for every other receiver (alocity and
alocity-selfie both ways: the `#` and `/` after the name keep them apart).
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import pytest

import cfn_yaml
import test_template_endpoints as endpoints
import test_template_iam as iam

SCHEMA_RS = cfn_yaml.REPO_ROOT / "shared" / "src" / "store" / "schema.rs"
TABLE = {"Fn::GetAtt": ["EventsTable", "Arn"]}
PUT, DESCRIBE = "dynamodb:PutItem", "dynamodb:DescribeTable"
LEADING_KEYS = "dynamodb:LeadingKeys"


# ---- IAM, as far as the template uses it --------------------------------------------------------

def string_like(pattern: str, value: str) -> bool:
    """IAM StringLike: `*` any run of characters, `?` exactly one, everything else itself
    (case-sensitive)."""
    if "${" in pattern:
        raise NotImplementedError(f"policy variable in {pattern!r}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


STRING_OPERATORS = {"StringLike": string_like, "StringEquals": lambda pattern, value: pattern == value}


def condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> bool:
    """An IAM Condition block against the request's context (key -> its values)."""
    values_of = {key.lower(): values for key, values in context.items()}
    for operator, keys in condition.items():
        qualifier, _, base = operator.partition(":") if operator.startswith(("ForAllValues:", "ForAnyValue:")) \
            else ("", "", operator)
        if base not in STRING_OPERATORS:
            raise NotImplementedError(f"condition operator {operator}")
        match = STRING_OPERATORS[base]
        for key, patterns in keys.items():
            patterns = cfn_yaml.as_list(patterns)
            request = values_of.get(key.lower())
            matches = [any(match(p, value) for p in patterns) for value in request or []]
            if qualifier == "ForAllValues":
                holds = all(matches)  # and true without the key: IAM's rule
            elif qualifier == "ForAnyValue":
                holds = any(matches)
            elif request is None:
                holds = False
            elif len(request) == 1:
                holds = matches[0]
            else:
                raise NotImplementedError(f"{operator} on the multi-valued {key}")
            if not holds:
                return False
    return True


def action_matches(pattern: str, action: str) -> bool:
    return cfn_yaml.iam_matches(pattern.lower(), action.lower())


def allowed(template: dict[str, Any], function: dict[str, Any], action: str, resource: Any,
            context: dict[str, list[str]], *, conditional_policies: bool) -> bool:
    """Whether the function's role may make this request. `conditional_policies`: count the
    policies granted only under a template condition (write-traces) too, i.e. what the role may
    do under some parameter values; without them, what it may do whatever they are."""
    target = cfn_yaml.resolve(template, resource)
    for granted_under, statement in iam.statements(template, function):
        if granted_under is not None and not conditional_policies:
            continue
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            raise NotImplementedError(f"statement {statement}")
        if not any(action_matches(a, action) for a in cfn_yaml.as_list(statement["Action"])):
            continue
        resources = [cfn_yaml.resolve(template, r) for entry in cfn_yaml.as_list(statement["Resource"])
                     for r in cfn_yaml.alternatives(entry)]
        if not any(cfn_yaml.iam_matches(r, target) for r in resources):
            continue
        if condition_holds(statement.get("Condition", {}), context):
            return True
    return False


def may_put(template: dict[str, Any], function: dict[str, Any], pk: str, *, conditional_policies: bool) -> bool:
    return allowed(template, function, PUT, TABLE, {LEADING_KEYS: [pk]}, conditional_policies=conditional_policies)


# ---- the keys the code writes -------------------------------------------------------------------

def schema_constant(name: str) -> str:
    """A `pub const NAME: &str = "...";` of schema.rs."""
    found = re.search(rf'pub const {name}: &str = "([^"]*)";', SCHEMA_RS.read_text(encoding="utf-8"))
    assert found, f"{SCHEMA_RS}: no string constant {name}"
    return found.group(1)


def test_the_key_formats_modelled_here_are_schema_rs():
    """written_keys() below builds keys as schema.rs does; if it changes how, this fails first."""
    source = SCHEMA_RS.read_text(encoding="utf-8")
    assert 'format!("{provider}/{endpoint}")' in source, "scope: <provider>/<endpoint>"
    assert 'format!("{scope}#{}", key_part(idempotency_key))' in source, "event_pk: <scope>#<key>"
    assert 'format!("{pk}{CONFLICT_SEPARATOR}")' in source, "conflict_prefix: <pk><separator>"
    assert schema_constant("CONFLICT_SEPARATOR") == "#conflict#"
    assert schema_constant("HASHED_PREFIX") == "sha256:"


def written_keys(provider: str) -> list[str]:
    """pks the code writes for `provider`: events of the endpoint default and of other endpoints
    (schema::scope, schema::event_pk), with keys as the providers' ids make them (FACEIO's
    appId/eventName/facialId has slashes; an Alocity id may hold anything, another provider's
    name, `#`, `/` or the wildcards included; a key over 1024 bytes is hashed), and the conflict
    records of each (schema::conflict_pk)."""
    separator, hashed = schema_constant("CONFLICT_SEPARATOR"), schema_constant("HASHED_PREFIX")
    digest = hashlib.sha256(b"another body").hexdigest()
    idempotency_keys = ["evt-1", "app-1/ENROLL/f1", "a#b/c#conflict#x", "x", "a*b?c", "*", "?",
                        "alocity-selfie#k", "alocity/k", "faceio#k", "amani/k", f"{hashed}{digest}",
                        "", "Ünïcode", "line\nbreak"]
    scopes = [provider, f"{provider}/staging", f"{provider}/eu-1", f"{provider}/{'x' * 32}"]
    events = [f"{scope}#{key}" for scope in scopes for key in idempotency_keys]
    return events + [f"{pk}{separator}{digest}" for pk in events]


def schema_test_keys() -> dict[str, list[str]]:
    """provider -> the key literals of schema.rs (its tests' examples) that begin with it."""
    providers = sorted(PROVIDERS, key=len, reverse=True)
    found: dict[str, list[str]] = {}
    for literal in re.findall(r'"([a-z-]+[#/][^"]*)"', SCHEMA_RS.read_text(encoding="utf-8")):
        owner = next((p for p in providers if literal.startswith((f"{p}#", f"{p}/")) and "{" not in literal), None)
        if owner:
            found.setdefault(owner, []).append(literal)
    return found


def near_misses(provider: str) -> list[str]:
    """Keys of no provider that a sloppy pattern for `provider` would let through."""
    return [provider, f"{provider}-x#k", f"{provider}x#k", f"x{provider}#k", f" {provider}#k",
            f"{provider.upper()}#k", f"{provider.capitalize()}/staging#k", f"{provider}\\#k", "",
            "quarantine/faceio#k", "#k", "/k"]


PROVIDERS = sorted(cfn_yaml.provider(f) for f in cfn_yaml.receivers(cfn_yaml.load()).values())


# ---- the checks ---------------------------------------------------------------------------------

def key_problems(template: dict[str, Any]) -> list[str]:
    """The static check: for every function and every key, allowed exactly when it is the
    function's own provider's (the drain: any of the four)."""
    found = []
    receivers = {cfn_yaml.provider(f): (k, f) for k, f in cfn_yaml.receivers(template).items()}
    functions = cfn_yaml.rust_functions(template)
    keys = {p: written_keys(p) + schema_test_keys().get(p, []) for p in receivers}
    strays = sorted({k for p in receivers for k in near_misses(p)} - {k for ks in keys.values() for k in ks})
    for logical_id, function in functions.items():
        own = cfn_yaml.provider(function)
        for provider, provider_keys in keys.items():
            expected = own is None or own == provider
            for pk in provider_keys:
                if expected and not may_put(template, function, pk, conditional_policies=False):
                    found.append(f"{logical_id} may not write {pk!r}, a key of {provider}")
                if not expected and may_put(template, function, pk, conditional_policies=True):
                    found.append(f"{logical_id} may write {pk!r}, a key of {provider}")
        found += [f"{logical_id} may write {pk!r}, no provider's key" for pk in strays
                  if may_put(template, function, pk, conditional_policies=True)]
        if not allowed(template, function, DESCRIBE, TABLE, {}, conditional_policies=False):
            found.append(f"{logical_id} may not DescribeTable (its cold-start warm-up)")
    return found


def condition_problems(template: dict[str, Any]) -> list[str]:
    """As written: every PutItem statement of a role is PutItem alone, under exactly
    ForAllValues:StringLike on dynamodb:LeadingKeys with its provider's two patterns (the drain:
    every receiver's); DescribeTable is a statement of its own without a condition."""
    found = []
    receivers = cfn_yaml.receivers(template)
    everyone = sorted(f"{cfn_yaml.provider(f)}{end}" for f in receivers.values() for end in ("#*", "/*"))
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        own = cfn_yaml.provider(function)
        patterns = sorted([f"{own}#*", f"{own}/*"]) if own else everyone
        expected = {"ForAllValues:StringLike": {LEADING_KEYS: patterns}}
        dynamodb = [s for _, s in iam.statements(template, function)
                    if any(a.startswith("dynamodb:") for a in cfn_yaml.as_list(s["Action"]))]
        puts = [s for s in dynamodb if any(action_matches(a, PUT) for a in cfn_yaml.as_list(s["Action"]))]
        describes = [s for s in dynamodb if any(action_matches(a, DESCRIBE) for a in cfn_yaml.as_list(s["Action"]))]
        if len(puts) != 1:
            found.append(f"{logical_id}: {len(puts)} statements grant PutItem, expected one")
        for statement in puts:
            if cfn_yaml.as_list(statement["Action"]) != [PUT]:
                found.append(f"{logical_id}: PutItem shares its statement with {statement['Action']}")
            condition = statement.get("Condition")
            got = {op: {k: sorted(cfn_yaml.as_list(v)) for k, v in keys.items()} for op, keys in (condition or {}).items()}
            if got != expected:
                found.append(f"{logical_id}: PutItem under {condition}, expected {expected}")
        if [s.get("Condition") for s in describes] != [None] or any(cfn_yaml.as_list(s["Action"]) != [DESCRIBE] for s in describes):
            found.append(f"{logical_id}: DescribeTable should be one statement of its own, without a condition: {describes}")
    return found


# ---- the template as deployed -------------------------------------------------------------------

def test_there_are_four_providers_and_two_of_them_share_a_prefix():
    assert PROVIDERS == ["alocity", "alocity-selfie", "amani", "faceio"]
    assert "alocity-selfie".startswith("alocity")


def test_puts_are_limited_to_the_roles_own_keys(template):
    assert condition_problems(template) == []


def test_each_role_may_write_exactly_its_own_providers_keys(template):
    assert key_problems(template) == []


@pytest.mark.parametrize("own, other", [("alocity", "alocity-selfie"), ("alocity-selfie", "alocity")])
def test_alocity_and_alocity_selfie_cannot_write_each_others_keys(template, own, other):
    (function,) = [f for f in cfn_yaml.receivers(template).values() if cfn_yaml.provider(f) == own]
    for pk in [f"{other}#evt-1", f"{other}/site-a#evt-1", f"{other}#evt-1#conflict#ab"]:
        assert not may_put(template, function, pk, conditional_policies=True), pk
    for pk in [f"{own}#evt-1", f"{own}/site-a#evt-1", f"{own}#{other}#evt-1"]:
        assert may_put(template, function, pk, conditional_policies=False), pk


def test_the_drain_may_write_any_providers_keys_and_no_others(template):
    drain = template["Resources"]["DrainFunction"]
    for provider in PROVIDERS:
        for pk in written_keys(provider):
            assert may_put(template, drain, pk, conditional_policies=False), pk
        for pk in near_misses(provider):
            if not any(pk.startswith((f"{p}#", f"{p}/")) for p in PROVIDERS):
                assert not may_put(template, drain, pk, conditional_policies=True), pk


@pytest.mark.parametrize("config", ["none", "every-provider"])
def test_endpoints_do_not_change_what_a_role_may_write(config):
    deployed = endpoints.deployed(endpoints.CONFIGS[config])
    assert condition_problems(deployed) == []


# ---- the evaluator ------------------------------------------------------------------------------

def test_string_like_is_iams():
    assert string_like("faceio#*", "faceio#")
    assert string_like("faceio#*", "faceio#a/b#c\nd")
    assert string_like("a?c", "abc") and not string_like("a?c", "ac") and not string_like("a?c", "abbc")
    assert not string_like("faceio#*", "Faceio#k")
    assert not string_like("alocity#*", "alocity-selfie#k")
    assert string_like("alocity*", "alocity-selfie#k")
    assert string_like("a.b", "a.b") and not string_like("a.b", "axb")
    with pytest.raises(NotImplementedError):
        string_like("${aws:userid}#*", "x")


def test_conditions_are_evaluated_as_iam_does():
    condition = {"ForAllValues:StringLike": {LEADING_KEYS: ["faceio#*", "faceio/*"]}}
    assert condition_holds(condition, {LEADING_KEYS: ["faceio#k"]})
    assert condition_holds(condition, {"DynamoDB:leadingkeys": ["faceio/staging#k"]})
    assert not condition_holds(condition, {LEADING_KEYS: ["amani#k"]})
    assert not condition_holds(condition, {LEADING_KEYS: ["faceio#k", "amani#k"]})
    assert condition_holds(condition, {}), "ForAllValues without the key holds (IAM's rule)"
    assert not condition_holds({"ForAnyValue:StringLike": {LEADING_KEYS: ["faceio#*"]}}, {})
    assert not condition_holds({"StringLike": {LEADING_KEYS: ["faceio#*"]}}, {})
    with pytest.raises(NotImplementedError):
        condition_holds({"ForAllValues:StringNotLike": {LEADING_KEYS: ["x"]}}, {LEADING_KEYS: ["y"]})
    with pytest.raises(NotImplementedError):
        condition_holds({"StringLikeIfExists": {LEADING_KEYS: ["x"]}}, {LEADING_KEYS: ["y"]})


# ---- the checks above must be able to fail ------------------------------------------------------

def role_statements(raw: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in raw["Resources"][role_id]["Properties"]["Policies"] if p.get("PolicyName") == "store-events"]
    return policy["PolicyDocument"]["Statement"]


def put_statement(raw: dict[str, Any], role_id: str) -> dict[str, Any]:
    (statement,) = [s for s in role_statements(raw, role_id) if s["Action"] == PUT]
    return statement


def broken(mutate) -> dict[str, Any]:
    raw = copy.deepcopy(cfn_yaml.load_raw())
    mutate(raw)
    return cfn_yaml.expand(raw, {})


def test_a_put_without_the_condition_is_reported():
    template = broken(lambda raw: put_statement(raw, "FaceioRole").pop("Condition"))
    assert any("FaceioFunction may write 'amani#evt-1'" in line for line in key_problems(template))
    assert any(line.startswith("FaceioFunction: PutItem under None") for line in condition_problems(template))


def test_a_pattern_that_lets_alocity_write_alocity_selfie_keys_is_reported():
    def mutate(raw):
        put_statement(raw, "AlocityRole")["Condition"]["ForAllValues:StringLike"][LEADING_KEYS] = ["alocity*"]
    template = broken(mutate)
    problems = key_problems(template)
    assert any("AlocityFunction may write 'alocity-selfie#evt-1'" in line for line in problems), problems
    assert any("AlocityFunction may write 'alocityx#k', no provider's key" in line for line in problems), problems
    assert any(line.startswith("AlocityFunction: PutItem under") for line in condition_problems(template))


def test_a_misspelled_condition_key_is_reported():
    """ForAllValues on a key the request does not have holds: every put would be allowed."""
    def mutate(raw):
        condition = put_statement(raw, "AmaniRole")["Condition"]["ForAllValues:StringLike"]
        condition["dynamodb:LeadingKey"] = condition.pop(LEADING_KEYS)
    template = broken(mutate)
    assert any("AmaniFunction may write 'faceio#evt-1'" in line for line in key_problems(template))


def test_a_drain_missing_a_provider_or_describe_table_under_the_condition_is_reported():
    def mutate(raw):
        condition = put_statement(raw, "DrainRole")["Condition"]["ForAllValues:StringLike"]
        condition[LEADING_KEYS] = [p for p in condition[LEADING_KEYS] if not p.startswith("amani")]
        statements = role_statements(raw, "AlocitySelfieRole")
        statements[:] = [{**put_statement(raw, "AlocitySelfieRole"), "Action": [PUT, DESCRIBE]}]
    template = broken(mutate)
    assert any("DrainFunction may not write 'amani#evt-1'" in line for line in key_problems(template))
    problems = condition_problems(template)
    assert any(line.startswith("DrainFunction: PutItem under") for line in problems), problems
    assert any("AlocitySelfieFunction: PutItem shares its statement" in line for line in problems), problems
    assert any("AlocitySelfieFunction: DescribeTable should be one statement of its own" in line for line in problems)


def test_a_second_unconditioned_put_is_reported():
    def mutate(raw):
        role_statements(raw, "FaceioRole").append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE})
    template = broken(mutate)
    assert any("FaceioFunction may write 'alocity#evt-1'" in line for line in key_problems(template))
    assert any("FaceioFunction: 2 statements grant PutItem" in line for line in condition_problems(template))
