"""The deployed events table (template.yaml) and the local one (scripts/local_aws.py) are the same.

The local stack is what the e2e suite and `make dev` run against; if the two drift, tests pass
locally against a table that production does not have.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

import cfn_yaml

LOCAL_AWS = cfn_yaml.REPO_ROOT / "scripts" / "local_aws.py"

# The store's item layout (project spec): both GSIs project exactly these non-key attributes.
SPEC_GSI_NON_KEY_ATTRIBUTES = {
    "provider", "idempotency_key", "event_code", "subject", "provider_time", "received_at_ms",
    "request_id", "source_ip", "secret_version", "body_sha256", "body_size", "record_type",
}


@pytest.fixture(scope="module")
def local_aws():
    assert LOCAL_AWS.is_file(), f"{LOCAL_AWS} is missing: the local stack defines the table there"
    spec = importlib.util.spec_from_file_location("local_aws", LOCAL_AWS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports boto3 lazily, so no AWS client is needed here
    return module


@pytest.fixture(scope="module")
def table(template) -> dict[str, Any]:
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == 1, "the template declares exactly one DynamoDB table"
    return tables[0]


def normalize(definition: dict[str, Any]) -> dict[str, Any]:
    """Key schema, attributes and GSIs in an order-independent, comparable form."""
    def keys(schema):
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    return {
        "AttributeDefinitions": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in definition["AttributeDefinitions"]
        ),
        "KeySchema": keys(definition["KeySchema"]),
        "GlobalSecondaryIndexes": {
            gsi["IndexName"]: {
                "KeySchema": keys(gsi["KeySchema"]),
                "ProjectionType": gsi["Projection"]["ProjectionType"],
                "NonKeyAttributes": sorted(gsi["Projection"].get("NonKeyAttributes", [])),
            }
            for gsi in definition.get("GlobalSecondaryIndexes", [])
        },
        "LocalSecondaryIndexes": definition.get("LocalSecondaryIndexes", []),
        "BillingMode": definition.get("BillingMode"),
        "StreamViewType": definition.get("StreamSpecification", {}).get("StreamViewType"),
    }


def test_key_schema_attributes_and_gsis_match_local_stack(table, local_aws):
    assert normalize(table["Properties"]) == normalize(local_aws.TABLE_DEFINITION)


def test_ttl_matches_local_stack(table, local_aws):
    ttl = table["Properties"]["TimeToLiveSpecification"]
    assert ttl == local_aws.TTL_SPECIFICATION
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_table_follows_the_store_layout(table):
    props = normalize(table["Properties"])
    assert props["KeySchema"] == [("pk", "HASH")]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamViewType"] == "NEW_IMAGE"
    assert props["GlobalSecondaryIndexes"] == {
        "by-provider-time": {
            "KeySchema": [("provider_day", "HASH"), ("received_at", "RANGE")],
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": sorted(SPEC_GSI_NON_KEY_ATTRIBUTES),
        },
        "by-subject": {
            "KeySchema": [("provider_subject", "HASH"), ("received_at", "RANGE")],
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": sorted(SPEC_GSI_NON_KEY_ATTRIBUTES),
        },
    }


def test_table_is_durable(table):
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
