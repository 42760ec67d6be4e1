"""The dicts berth's management methods return, as :class:`~typing.TypedDict` types.

They are the engine's management views (``registry_core::model``) with Harbor's field names,
exactly as ``/api/v2.0`` answers. Times are RFC 3339 strings in UTC. Listings return one page:
``{"items": [...], "total": <matches over all pages>, "page": 1, "page_size": 10}``.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "ScanOverview",
    "ScanResult",
    "Vulnerability",
    "VulnerabilityReport",
    "VulndbImport",
    "RegistryCredential",
    "RegistryEndpoint",
    "ReplicationPolicy",
    "ReplicationExecution",
    "CopyReport",
    "Sbom",
    "SbomPackage",
    "Accessory",
    "AccessoryPage",
    "TrustKey",
    "Artifact",
    "ArtifactPage",
    "ArtifactReference",
    "AuditLog",
    "AuditLogPage",
    "GcReport",
    "Label",
    "LabelPage",
    "Member",
    "MemberPage",
    "Project",
    "ProjectPage",
    "Quota",
    "Repository",
    "RepositoryPage",
    "RetentionPreview",
    "Robot",
    "RobotAccess",
    "RobotCreated",
    "RobotPage",
    "RobotPermission",
    "Tag",
    "User",
    "UserPage",
    "Who",
]


class Project(TypedDict):
    project_id: int
    name: str
    owner_id: int
    owner_name: str
    repo_count: int
    #: ``public`` ("true"/"false"), ``auto_scan``, ``severity``, … (all strings, as in Harbor).
    metadata: dict[str, str]
    current_user_role_ids: list[int]
    current_user_role_id: int
    registry_id: int
    deleted: bool
    togglable: bool
    creation_time: str
    update_time: str


class User(TypedDict):
    user_id: int
    username: str
    email: str
    realname: str
    comment: str
    sysadmin_flag: bool
    admin_role_in_auth: bool
    #: ``local``, ``ldap`` or ``oidc``.
    source: str
    creation_time: str
    update_time: str


class Member(TypedDict):
    id: int
    project_id: int
    entity_name: str
    #: ``projectAdmin``, ``maintainer``, ``developer``, ``guest``, ``limitedGuest``.
    role_name: str
    #: 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest.
    role_id: int
    entity_id: int
    #: ``u`` user, ``g`` group.
    entity_type: str


class _RobotAccessRequired(TypedDict):
    #: ``repository``, ``artifact``, ``tag``, … (Harbor's resources).
    resource: str
    #: ``pull``, ``push``, ``delete``, ``list``, ``read``, ``create``, ``update``, …
    action: str


class RobotAccess(_RobotAccessRequired, total=False):
    effect: Literal["allow", "deny"]


class RobotPermission(TypedDict):
    #: ``project`` or ``system``.
    kind: str
    #: A project name, ``*`` (every project) or ``/`` (system).
    namespace: str
    access: list[RobotAccess]


class Robot(TypedDict):
    id: int
    #: ``robot$name`` or ``robot$project+name``: the user name to log in with.
    name: str
    description: str
    level: str
    duration: int
    disable: bool
    #: Unix seconds, -1 for never.
    expires_at: int
    editable: bool
    permissions: list[RobotPermission]
    creation_time: str
    update_time: str


class RobotCreated(TypedDict):
    id: int
    name: str
    #: Shown this once; only its hash is stored.
    secret: str
    creation_time: str
    expires_at: int


class Label(TypedDict):
    id: int
    name: str
    description: str
    color: str
    #: ``g`` global or ``p`` project.
    scope: str
    project_id: int
    creation_time: str
    update_time: str


class Repository(TypedDict):
    id: int
    project_id: int
    #: The full name, ``project/name``.
    name: str
    description: str
    artifact_count: int
    pull_count: int
    creation_time: str
    update_time: str


class Tag(TypedDict):
    repository_id: int
    name: str
    push_time: str
    pull_time: str | None
    immutable: bool


class ArtifactReference(TypedDict):
    parent_id: int
    child_digest: str


Artifact = TypedDict(
    "Artifact",
    {
        "project_id": int,
        "repository_id": int,
        "repository_name": str,
        "digest": str,
        # IMAGE, CHART, … (Harbor's artifact type).
        "type": str,
        "media_type": str,
        "manifest_media_type": str,
        "artifact_type": str | None,
        "size": int,
        "push_time": str,
        "pull_time": str | None,
        "annotations": dict[str, str] | None,
        "tags": list[Tag],
        "references": list[ArtifactReference],
        "labels": list[Label],
        #: Signatures, SBOMs and other accessories of the artifact.
        "accessories": list["Accessory"],
        #: For an image an index lists: the accessories of those indexes.
        "inherited_accessories": list["Accessory"],
    },
)


Accessory = TypedDict(
    "Accessory",
    {
        "digest": str,
        # signature.cosign, signature.notation, sbom.harbor, accelerator.nydus, subject.accessory
        "type": str,
        "size": int,
        "subject_artifact_digest": str,
        "subject_artifact_repo": str,
        "creation_time": str,
        "icon": str,
        # For cosign signatures when the project trusts keys: verified, unverified, unknown_key.
        "verification": str | None,
    },
)


class SbomPackage(TypedDict):
    #: The purl type: deb, apk, rpm, pypi, npm, cargo, golang or maven.
    ecosystem: str
    name: str
    version: str
    source: str | None
    arch: str | None


class Sbom(TypedDict):
    """An image's SBOM, as stored in its sbom.harbor accessory."""

    #: The SBOM accessory's manifest digest.
    digest: str
    #: The image it describes.
    subject: str
    distro: str | None
    packages: list[SbomPackage]
    #: SPDX 2.3 JSON.
    spdx: dict[str, Any]
    #: CycloneDX 1.5 JSON.
    cyclonedx: dict[str, Any]


class VulnerabilitySummary(TypedDict):
    total: int
    fixable: int
    #: Severity (Critical, High, Medium, Low, Negligible, Unknown) -> count.
    summary: dict[str, int]


class ScanOverview(TypedDict):
    """A scan's summary, as an artifact's ``scan_overview`` holds it (Harbor's NativeReportSummary)."""

    report_id: str
    #: Success, Error, Running, Pending or Stopped.
    scan_status: str
    #: The worst severity found: Critical, High, Medium, Low, Negligible, Unknown or None.
    severity: str
    duration: int
    summary: VulnerabilitySummary
    start_time: str
    end_time: str | None
    complete_percent: int
    scanner: dict[str, str]


class Vulnerability(TypedDict):
    """One finding of a report."""

    #: The advisory id (DSA-…, DEBIAN-CVE-…, GHSA-…, CVE-…).
    id: str
    package: str
    version: str
    #: The lowest fixed version above the installed one, or "".
    fix_version: str
    severity: str
    description: str
    links: list[str]
    preferred_cvss: dict[str, Any]
    cwe_ids: list[str]
    #: {"aliases": [...], "ecosystem": "Debian:12"}.
    vendor_attributes: dict[str, Any]


class VulnerabilityReport(TypedDict):
    """Harbor's vulnerability report (application/vnd.security.vulnerability.report; version=1.1)."""

    generated_at: str
    artifact: dict[str, str]
    scanner: dict[str, str]
    severity: str
    vulnerabilities: list[Vulnerability]


class ScanResult(TypedDict):
    """What a scan stored."""

    digest: str
    overview: ScanOverview
    report: VulnerabilityReport


class VulndbImport(TypedDict):
    """What importing OSV advisories did."""

    advisories: int
    rows: int
    withdrawn: int
    skipped: int
    total_advisories: int
    total_rows: int
    updated_at: str


class RegistryCredential(TypedDict):
    type: str
    access_key: str
    access_secret: str
    """`*****` when a secret is stored: it is never shown back."""


class RegistryEndpoint(TypedDict):
    """A remote registry replication policies and proxy-cache projects use."""

    id: int
    name: str
    url: str
    type: str
    credential: RegistryCredential
    insecure: bool
    ca_certificate: str
    description: str
    status: str
    creation_time: str
    update_time: str


class ReplicationPolicy(TypedDict):
    """Harbor's ReplicationPolicy."""

    id: int
    name: str
    description: str
    creator: str
    src_registry: RegistryEndpoint | None
    dest_registry: RegistryEndpoint | None
    dest_namespace: str
    dest_namespace_replace_count: int
    trigger: dict[str, Any]
    filters: list[dict[str, Any]]
    replicate_deletion: bool
    deletion: bool
    override: bool
    enabled: bool
    speed: int
    copy_by_chunk: bool
    single_active_replication: bool
    creation_time: str
    update_time: str


class ReplicationExecution(TypedDict):
    """A replication run: status InProgress, Succeed, Failed or Stopped, with task counts."""

    id: int
    policy_id: int
    status: str
    trigger: str
    start_time: str
    end_time: str | None
    status_text: str
    total: int
    failed: int
    succeed: int
    in_progress: int
    stopped: int


class CopyReport(TypedDict):
    """What replicate() copied."""

    copied: list[str]
    skipped: list[str]
    blobs_copied: int
    blobs_skipped: int
    log: list[str]


class TrustKey(TypedDict):
    """A key a project trusts for content trust verification."""

    id: int
    name: str
    #: cosign (a public key) or notation (a root certificate).
    kind: str
    #: ecdsa-p256, ed25519 or rsa.
    algorithm: str
    pem: str
    fingerprint: str
    creation_time: str


class Who(TypedDict):
    """Who a login resolved to."""

    kind: Literal["user", "robot", "anonymous", "system"]
    name: str
    #: The user id or robot id.
    id: int | None
    sysadmin: bool


class _Page(TypedDict):
    #: Matches over all pages.
    total: int
    page: int
    page_size: int


class ProjectPage(_Page):
    items: list[Project]


class UserPage(_Page):
    items: list[User]


class MemberPage(_Page):
    items: list[Member]


class RobotPage(_Page):
    items: list[Robot]


class RepositoryPage(_Page):
    items: list[Repository]


class ArtifactPage(_Page):
    items: list[Artifact]


class AccessoryPage(_Page):
    items: list[Accessory]


class LabelPage(_Page):
    items: list[Label]


class GcReport(TypedDict):
    """What a garbage collection did (or, dry, would do)."""

    dry_run: bool
    purged_manifests: int
    dropped_links: int
    purged_blobs: int
    freed_space: int
    purged_uploads: int
    failed_blobs: int


class _Storage(TypedDict):
    storage: int


class _QuotaRef(TypedDict):
    id: int
    name: str
    owner_name: str


class Quota(TypedDict):
    """A project's storage quota in bytes; ``hard.storage`` -1 is unlimited."""

    id: int
    ref: _QuotaRef
    hard: _Storage
    used: _Storage
    creation_time: str
    update_time: str


class _AuditLogProject(TypedDict, total=False):
    project_id: int


class AuditLog(_AuditLogProject):
    """An audit entry (Harbor's ``auditlog-exts`` shape)."""

    id: int
    username: str
    resource: str
    resource_type: str
    operation: str
    operation_description: str
    operation_result: bool
    op_time: str


class AuditLogPage(_Page):
    items: list[AuditLog]


class RetentionPreview(TypedDict):
    """What a retention run would do to one repository."""

    repository: str
    #: Artifacts judged by the rules.
    total: int
    retained: int
    #: Digests a run would delete, sorted.
    deleted: list[str]
