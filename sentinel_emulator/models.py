"""What the 2025-12-01 spec allows: enums, property names per resource, and request-body checks.

Responses are built only from these names, so nothing outside the spec leaks out; request bodies
are checked here (required fields, enum values) and everything read-only or unknown is dropped.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request

SEVERITIES = ("High", "Medium", "Low", "Informational")
INCIDENT_STATUSES = ("New", "Active", "Closed")
CLASSIFICATIONS = ("Undetermined", "TruePositive", "BenignPositive", "FalsePositive")
CLASSIFICATION_REASONS = ("SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData")
OWNER_TYPES = ("Unknown", "User", "Group")
TASK_STATUSES = ("New", "Completed")
TACTICS = (
    "Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
    "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement",
    "Collection", "Exfiltration", "CommandAndControl", "Impact", "PreAttack",
    "ImpairProcessControl", "InhibitResponseFunction",
)
ALERT_STATUSES = ("Unknown", "New", "Resolved", "Dismissed", "InProgress")
CONFIDENCE_LEVELS = ("Unknown", "Low", "High")
ENTITY_KINDS = (
    "Account", "Host", "File", "AzureResource", "CloudApplication", "DnsResolution", "FileHash", "Ip",
    "Malware", "Process", "RegistryKey", "RegistryValue", "SecurityGroup", "Url", "IoTDevice",
    "SecurityAlert", "Bookmark", "Mailbox", "MailCluster", "MailMessage", "SubmissionMail",
)
ALERT_RULE_KINDS = ("Scheduled", "NRT", "MicrosoftSecurityIncidentCreation", "Fusion")
TRIGGER_OPERATORS = ("GreaterThan", "LessThan", "Equal", "NotEqual")

ENVELOPE = ("id", "name", "type", "etag", "kind", "properties")

INCIDENT_WRITABLE = (
    "title", "description", "severity", "status", "classification", "classificationComment",
    "classificationReason", "owner", "labels", "firstActivityTimeUtc", "lastActivityTimeUtc",
)
INCIDENT_READONLY = (
    "additionalData", "createdTimeUtc", "incidentUrl", "providerName", "providerIncidentId",
    "incidentNumber", "lastModifiedTimeUtc", "relatedAnalyticRuleIds",
)
INCIDENT_PROPERTIES = INCIDENT_WRITABLE + INCIDENT_READONLY
OWNER_KEYS = ("email", "assignedTo", "objectId", "userPrincipalName", "ownerType")
ADDITIONAL_DATA_KEYS = (
    "alertsCount", "bookmarksCount", "commentsCount", "alertProductNames", "tactics", "providerIncidentUrl",
)
COMMENT_PROPERTIES = ("createdTimeUtc", "lastModifiedTimeUtc", "message", "author")
RELATION_PROPERTIES = ("relatedResourceId", "relatedResourceName", "relatedResourceType", "relatedResourceKind")
TASK_PROPERTIES = ("title", "description", "status", "createdTimeUtc", "lastModifiedTimeUtc", "createdBy",
                   "lastModifiedBy")
ALERT_PROPERTIES = (
    "alertDisplayName", "alertType", "compromisedEntity", "confidenceLevel", "confidenceReasons",
    "confidenceScore", "confidenceScoreStatus", "description", "endTimeUtc", "intent", "providerAlertId",
    "processingEndTime", "productComponentName", "productName", "productVersion", "remediationSteps",
    "severity", "startTimeUtc", "status", "systemAlertId", "tactics", "timeGenerated", "vendorName",
    "alertLink", "resourceIdentifiers", "additionalData", "friendlyName",
)
_COMMON_ENTITY = ("additionalData", "friendlyName")
ENTITY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "Account": _COMMON_ENTITY + (
        "aadTenantId", "aadUserId", "accountName", "displayName", "hostEntityId", "isDomainJoined",
        "ntDomain", "objectGuid", "puid", "sid", "upnSuffix", "dnsDomain"),
    "Host": _COMMON_ENTITY + (
        "azureID", "dnsDomain", "hostName", "isDomainJoined", "netBiosName", "ntDomain", "omsAgentID",
        "osFamily", "osVersion"),
    "Ip": _COMMON_ENTITY + ("address", "location", "threatIntelligence"),
    "Url": _COMMON_ENTITY + ("url",),
    "FileHash": _COMMON_ENTITY + ("algorithm", "hashValue"),
    "File": _COMMON_ENTITY + ("directory", "fileHashEntityIds", "fileName", "hostEntityId"),
    "Process": _COMMON_ENTITY + (
        "accountEntityId", "commandLine", "creationTimeUtc", "elevationToken", "hostEntityId",
        "hostLogonSessionEntityId", "imageFileEntityId", "parentProcessEntityId", "processId"),
    "Mailbox": _COMMON_ENTITY + ("mailboxPrimaryAddress", "displayName", "upn", "externalDirectoryObjectId"),
    "DnsResolution": _COMMON_ENTITY + (
        "dnsServerIpEntityId", "domainName", "hostIpAddressEntityId", "ipAddressEntityIds"),
    "AzureResource": _COMMON_ENTITY + ("resourceId", "subscriptionId"),
    "CloudApplication": _COMMON_ENTITY + ("appId", "appName", "instanceName"),
}
BOOKMARK_PROPERTIES = (
    "created", "createdBy", "displayName", "labels", "notes", "query", "queryResult", "updated",
    "updatedBy", "eventTime", "queryStartTime", "queryEndTime", "incidentInfo",
)
BOOKMARK_WRITABLE = ("displayName", "labels", "notes", "query", "queryResult", "eventTime",
                     "queryStartTime", "queryEndTime", "incidentInfo")
HUNTING_BOOKMARK_PROPERTIES = _COMMON_ENTITY + (
    "created", "createdBy", "displayName", "eventTime", "labels", "notes", "query", "queryResult",
    "updated", "updatedBy", "incidentInfo",
)
WATCHLIST_PROPERTIES = (
    "watchlistId", "displayName", "provider", "source", "sourceType", "created", "updated", "createdBy",
    "updatedBy", "description", "watchlistType", "watchlistAlias", "isDeleted", "labels",
    "defaultDuration", "tenantId", "numberOfLinesToSkip", "rawContent", "itemsSearchKey", "contentType",
    "uploadStatus", "provisioningState",
)
WATCHLIST_WRITABLE = ("displayName", "provider", "source", "sourceType", "description", "labels",
                      "defaultDuration", "numberOfLinesToSkip", "itemsSearchKey", "contentType")
WATCHLIST_ITEM_PROPERTIES = (
    "watchlistItemType", "watchlistItemId", "tenantId", "isDeleted", "created", "updated", "createdBy",
    "updatedBy", "itemsKeyValue", "entityMapping",
)
INDICATOR_PROPERTIES = _COMMON_ENTITY + (
    "threatIntelligenceTags", "lastUpdatedTimeUtc", "source", "displayName", "description", "indicatorTypes",
    "pattern", "patternType", "patternVersion", "killChainPhases", "parsedPattern", "externalId",
    "createdByRef", "defanged", "externalLastUpdatedTimeUtc", "externalReferences", "granularMarkings",
    "labels", "revoked", "confidence", "objectMarkingRefs", "language", "threatTypes", "validFrom",
    "validUntil", "created", "modified", "extensions",
)
INDICATOR_SERVER_SET = ("lastUpdatedTimeUtc", "created", "externalId", "parsedPattern", "friendlyName",
                        "additionalData")
ALERT_RULE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "Scheduled": (
        "query", "queryFrequency", "queryPeriod", "severity", "triggerOperator", "triggerThreshold",
        "eventGroupingSettings", "customDetails", "entityMappings", "alertDetailsOverride",
        "alertRuleTemplateName", "templateVersion", "description", "displayName", "enabled",
        "lastModifiedUtc", "suppressionDuration", "suppressionEnabled", "tactics", "techniques",
        "incidentConfiguration"),
    "NRT": (
        "query", "severity", "eventGroupingSettings", "customDetails", "entityMappings", "alertDetailsOverride",
        "alertRuleTemplateName", "templateVersion", "description", "displayName", "enabled", "lastModifiedUtc",
        "suppressionDuration", "suppressionEnabled", "tactics", "techniques", "incidentConfiguration"),
    "MicrosoftSecurityIncidentCreation": (
        "displayNamesFilter", "displayNamesExcludeFilter", "productFilter", "severitiesFilter",
        "alertRuleTemplateName", "description", "displayName", "enabled", "lastModifiedUtc"),
    "Fusion": (
        "alertRuleTemplateName", "description", "displayName", "enabled", "lastModifiedUtc", "severity",
        "tactics", "techniques"),
}
ALERT_RULE_REQUIRED: dict[str, tuple[str, ...]] = {
    "Scheduled": ("displayName", "enabled", "severity", "query", "queryFrequency", "queryPeriod",
                  "triggerOperator", "triggerThreshold", "suppressionEnabled", "suppressionDuration"),
    "NRT": ("displayName", "enabled", "severity", "query", "suppressionEnabled", "suppressionDuration"),
    "MicrosoftSecurityIncidentCreation": ("displayName", "enabled", "productFilter"),
    "Fusion": ("alertRuleTemplateName", "enabled"),
}
AUTOMATION_RULE_PROPERTIES = ("displayName", "order", "triggeringLogic", "actions", "lastModifiedTimeUtc",
                              "createdTimeUtc", "lastModifiedBy", "createdBy")


def pick(source: dict, names: tuple[str, ...]) -> dict:
    """The keys of `source` that are in `names`, in spec order."""
    return {k: source[k] for k in names if k in source}


def properties_of(body: Any, resource: str) -> dict:
    """The `properties` object of a request body, or a 400 naming the resource."""
    if not isinstance(body, dict):
        raise bad_request(f"The request body for the {resource} must be a JSON object.", "InvalidRequestContent")
    props = body.get("properties", {})
    if not isinstance(props, dict):
        raise bad_request(f"'properties' of the {resource} must be an object.", "InvalidRequestContent")
    return props


def require(props: dict, names: tuple[str, ...], resource: str) -> None:
    missing = [n for n in names if props.get(n) in (None, "")]
    if missing:
        raise bad_request(
            f"The {resource} is missing required properties: {', '.join(missing)}.", "BadRequest")


def check_enum(props: dict, name: str, allowed: tuple[str, ...], resource: str) -> None:
    value = props.get(name)
    if value is not None and value not in allowed:
        raise bad_request(
            f"Invalid value '{value}' for '{name}' of the {resource}; allowed values: {', '.join(allowed)}.")


def check_string(props: dict, name: str, resource: str) -> None:
    value = props.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{name}' of the {resource} must be a string.")


def incident_input(body: Any) -> dict:
    """Validate an incident PUT body; returns the writable properties (owner, labels normalized)."""
    props = properties_of(body, "incident")
    require(props, ("title", "severity", "status"), "incident")
    for name in ("title", "description", "classificationComment", "firstActivityTimeUtc", "lastActivityTimeUtc"):
        check_string(props, name, "incident")
    check_enum(props, "severity", SEVERITIES, "incident")
    check_enum(props, "status", INCIDENT_STATUSES, "incident")
    check_enum(props, "classification", CLASSIFICATIONS, "incident")
    check_enum(props, "classificationReason", CLASSIFICATION_REASONS, "incident")
    if props["status"] == "Closed" and not props.get("classification"):
        raise bad_request("A classification is required to close an incident (properties.classification).")
    out = pick(props, INCIDENT_WRITABLE)
    owner = props.get("owner")
    if owner is not None:
        if not isinstance(owner, dict):
            raise bad_request("'owner' of the incident must be an object.")
        check_enum(owner, "ownerType", OWNER_TYPES, "incident owner")
        out["owner"] = pick(owner, OWNER_KEYS)
    labels = props.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, dict) and x.get("labelName") for x in labels):
            raise bad_request("'labels' of the incident must be a list of objects with a 'labelName'.")
        out["labels"] = [{"labelName": str(x["labelName"]), "labelType": x.get("labelType") or "User"}
                         if x.get("labelType") in (None, "User", "AutoAssigned") else
                         {"labelName": str(x["labelName"]), "labelType": "User"} for x in labels]
    return out
