"""Type stubs of berth's native module (hand-written; checked by mypy and mypy.stubtest in CI)."""

import os
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, final

from typing_extensions import Self, disjoint_base

from .types import (
    AccessoryPage,
    Artifact,
    ArtifactPage,
    AuditLogPage,
    GcReport,
    Label,
    LabelPage,
    MemberPage,
    Project,
    ProjectPage,
    Quota,
    RepositoryPage,
    RetentionPreview,
    Robot,
    RobotAccess,
    RobotCreated,
    RobotPage,
    RobotPermission,
    Sbom,
    ScanResult,
    VulnerabilityReport,
    VulndbImport,
    RegistryEndpoint,
    ReplicationPolicy,
    ReplicationExecution,
    CopyReport,
    TrustKey,
    User,
    UserPage,
    Who,
)

__all__ = [
    "AsyncRegistry",
    "AsyncServer",
    "Layer",
    "Manifest",
    "PulledImage",
    "PushedImage",
    "PushedManifest",
    "Registry",
    "Server",
    "check_repository_name",
    "generate_signing_key",
    "open",
    "open_async",
    "serve",
    "serve_async",
    "version",
]

_Bytes = bytes | bytearray
_Path = str | os.PathLike[str]
_Config = bytes | bytearray | dict[str, Any] | list[Any]
_ProjectRef = str | int
_Role = Literal["projectAdmin", "maintainer", "developer", "guest", "limitedGuest"] | str | int

def version() -> str:
    """The version of the Berth engine this module was built from."""

def check_repository_name(name: str) -> None:
    """Raise InvalidError (code NAME_INVALID) unless `name` is a valid repository name."""

def generate_signing_key() -> tuple[str, str]:
    """A new ECDSA P-256 key pair for Registry.sign: (private key PKCS#8 PEM, public key PEM)."""

def open(uri: str | None = None, *, metadata: str | None = None, storage: str | None = None) -> Registry:
    """Open a registry: "memory://" (default), a data directory, or metadata= + storage= URIs."""

def serve(
    uri: str | None = None,
    *,
    metadata: str | None = None,
    storage: str | None = None,
    addr: str = "127.0.0.1:0",
    admin_password: str | None = None,
) -> Server:
    """Serve a registry over HTTP in this process; a throw-away data dir unless a uri or URIs are given.
    Runs bootstrap(admin_password) first: user "admin" and the public project "library" exist."""

def open_async(uri: str | None = None, *, metadata: str | None = None, storage: str | None = None) -> Awaitable[AsyncRegistry]: ...
def serve_async(
    uri: str | None = None,
    *,
    metadata: str | None = None,
    storage: str | None = None,
    addr: str = "127.0.0.1:0",
    admin_password: str | None = None,
) -> Awaitable[AsyncServer]: ...
@final
class Manifest:
    """A stored manifest."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def content(self) -> bytes:
        """The manifest exactly as stored."""

    def json(self) -> Any:
        """The manifest parsed with json.loads."""

@final
class PushedManifest:
    """What a manifest push stored."""

    @property
    def digest(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...

@final
class PushedImage:
    """What an image push stored; str() of it is "repo@digest"."""

    @property
    def repository(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def config(self) -> str:
        """Digest of the config blob."""

    @property
    def layers(self) -> list[str]:
        """Digests of the layers, in order."""

    @property
    def tags(self) -> list[str]: ...
    @property
    def reference(self) -> str:
        """"repo@digest"."""

@final
class Layer:
    """One layer of a pulled image."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...

@final
class PulledImage:
    """An image read back: manifest, config and layers."""

    @property
    def digest(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def config_media_type(self) -> str: ...
    @property
    def manifest(self) -> bytes: ...
    @property
    def config(self) -> bytes: ...
    @property
    def layers(self) -> list[Layer]: ...

@disjoint_base
class Registry:
    """A Berth registry. Every method blocks with the GIL released; use `with` to close it."""

    @property
    def closed(self) -> bool: ...
    def close(self) -> None:
        """Close (and stop serving, if served). Closing twice is harmless; later calls raise ClosedError."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def catalog(self, n: int | None = None, last: str | None = None) -> list[str]:
        """Repository names in lexical order after `last`, at most `n`."""

    def list_tags(self, repository: str, n: int | None = None, last: str | None = None) -> list[str]:
        """Tags of a repository in lexical order after `last`, at most `n`."""

    def push_blob(self, repository: str, data: _Bytes) -> str:
        """Store bytes as a blob; returns its digest."""

    def push_blob_file(self, repository: str, path: _Path) -> str:
        """Stream a file into a blob; returns its digest."""

    def pull_blob(self, repository: str, digest: str) -> bytes: ...
    def save_blob(self, repository: str, digest: str, path: _Path) -> int:
        """Stream a blob into a file; returns its size."""

    def stat_blob(self, repository: str, digest: str) -> int:
        """The size of a blob the repository links."""

    def delete_blob(self, repository: str, digest: str) -> None: ...
    def mount_blob(self, repository: str, digest: str, from_repository: str | None = None) -> int | None:
        """Link an existing blob into `repository`; its size, or None when there is nothing to mount."""

    def start_upload(self, repository: str) -> str:
        """Open a resumable upload session; returns its id."""

    def append_upload(self, repository: str, upload_id: str, data: _Bytes, offset: int | None = None) -> int:
        """Append a chunk (at `offset`, when given); returns the size so far."""

    def upload_status(self, repository: str, upload_id: str) -> int:
        """Bytes received so far."""

    def finish_upload(
        self, repository: str, upload_id: str, digest: str, data: _Bytes | None = None, offset: int | None = None
    ) -> int:
        """Append a last chunk (optional), verify `digest`, publish; returns the blob size."""

    def cancel_upload(self, repository: str, upload_id: str) -> None: ...
    def purge_uploads(self, older_than_seconds: float) -> int:
        """Drop upload sessions idle longer than this; returns how many."""

    def put_manifest(
        self,
        repository: str,
        reference: str,
        manifest: _Bytes,
        media_type: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> PushedManifest:
        """Validate and store a manifest under a tag or its digest (plus extra `tags`)."""

    def get_manifest(self, repository: str, reference: str) -> Manifest: ...
    def delete_manifest(self, repository: str, reference: str) -> None:
        """Delete a manifest by digest (with its tags), or just a tag."""

    def referrers(self, repository: str, digest: str, artifact_type: str | None = None) -> dict[str, Any]:
        """The referrers of a manifest, as an OCI image index."""

    def push_image(
        self,
        image: str,
        layers: Sequence[_Bytes | _Path] | None = None,
        config: _Config | None = None,
        *,
        config_media_type: str | None = None,
        layer_media_type: str | None = None,
        artifact_type: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> PushedImage:
        """Push config, layers (bytes or file paths) and a manifest as "repo:tag" (or "repo@digest")."""

    def pull_image(self, image: str) -> PulledImage: ...
    def import_layout(self, path: _Path, repository: str, tag: str | None = None) -> list[PushedManifest]:
        """Import an OCI image layout directory (all entries, or the one named `tag`)."""

    def export_layout(self, image: str, path: _Path) -> str:
        """Write an image (or index) into an OCI image layout directory; returns the manifest digest."""

    # ---- identity and access: every call acts as the embedding program (all permissions) ----
    def bootstrap(self, admin_password: str | None = None) -> str | None:
        """Create user "admin" (system admin) and the public project "library" unless they exist;
        returns the generated admin password when it created the admin without `admin_password`."""

    def login(self, username: str, password: str, client: str = "local") -> Who:
        """Check a user's password or a robot's secret; a wrong one raises PermissionDeniedError (code
        UNAUTHORIZED). `client` (an address) keys the failed-login throttle (TOOMANYREQUESTS)."""

    def create_project(
        self, name: str, public: bool = False, metadata: Mapping[str, str] | None = None, *, storage_limit: int | None = None
    ) -> Project:
        """Create a project (content only enters existing projects: push to "name/..."); storage_limit in bytes, -1 unlimited."""
    def gc(
        self, *, dry_run: bool = False, delete_untagged: bool = False, workers: int = 1, grace_seconds: float = 7200.0
    ) -> GcReport:
        """Run garbage collection now (online: other clients keep pushing); returns what it freed."""
    def create_retention(self, policy: Mapping[str, Any]) -> int:
        """Create a project's tag retention policy (Harbor's RetentionPolicy JSON, scope.ref = project id); returns its id."""
    def retention_dry_run(self, policy_id: int) -> list[RetentionPreview]:
        """What a run of the policy would delete now, per repository; deletes nothing."""
    def quota(self, project: _ProjectRef) -> Quota:
        """A project's storage quota (hard and used bytes)."""
    def set_storage_limit(self, project: _ProjectRef, limit: int) -> None:
        """Set a project's storage limit in bytes (-1: unlimited)."""
    def run_jobs(self) -> int:
        """Run queued jobs (GC runs, webhook deliveries, …) until none is due; returns how many ran."""
    def read_only(self) -> bool: ...
    def set_read_only(self, flag: bool) -> None:
        """Read-only mode: pulls keep working, every change raises DeniedError."""
    def audit_logs(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> AuditLogPage:
        """The audit log: who pushed, pulled, deleted or changed what, when, from where."""

    def project(self, name: _ProjectRef) -> Project:
        """A project by name (str) or id (int)."""

    def projects(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> ProjectPage:
        """Projects, filtered with Harbor's q= grammar (name, project_id, public, owner_id, creation_time, update_time)."""

    def update_project(self, name: _ProjectRef, metadata: Mapping[str, str]) -> None:
        """Set metadata keys ("public": "true", "auto_scan", "severity", …)."""

    def delete_project(self, name: _ProjectRef) -> None:
        """Delete an empty project (PreconditionError while it has repositories)."""

    def create_user(
        self, username: str, password: str, email: str = "", realname: str = "", comment: str = ""
    ) -> User:
        """Create a local user (the password needs 8+ characters with upper, lower case and a digit)."""

    def user(self, user_id: int) -> User: ...
    def users(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> UserPage: ...
    def set_sysadmin(self, user_id: int, flag: bool) -> None: ...
    def change_password(self, user_id: int, password: str) -> None: ...
    def delete_user(self, user_id: int) -> None: ...
    def add_member(
        self, project: _ProjectRef, username: str | None = None, *, group: str | int | None = None, role: _Role = "developer"
    ) -> int:
        """Add a user (by name) or a group (by name or id) to a project with a role; returns the member id."""

    def members(
        self,
        project: _ProjectRef,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> MemberPage: ...
    def update_member(self, project: _ProjectRef, member_id: int, role: _Role) -> None: ...
    def delete_member(self, project: _ProjectRef, member_id: int) -> None: ...
    def create_robot(
        self,
        name: str,
        *,
        project: str | None = None,
        access: Sequence[RobotAccess] | None = None,
        permissions: Sequence[RobotPermission] | None = None,
        level: str | None = None,
        duration: int = -1,
        description: str = "",
        secret: str | None = None,
        disable: bool = False,
    ) -> RobotCreated:
        """A robot account: `project` + `access` for a project robot, or `permissions` in full. The
        answer's `secret` is shown this once; log in as its `name` ("robot$project+name")."""

    def robot(self, robot_id: int) -> Robot: ...
    def robots(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> RobotPage:
        """Robots: all, q="Level=system", or q="Level=project,ProjectID=<project_id>"."""

    def refresh_robot_secret(self, robot_id: int, secret: str | None = None) -> str:
        """Set a new secret (given, or generated); returns it."""

    def delete_robot(self, robot_id: int) -> None: ...
    # ---- management views of content ---------------------------------------------------------
    def repositories(
        self,
        project: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> RepositoryPage: ...
    def delete_repository(self, project: str, repository: str) -> None:
        """Delete `project/repository` with everything in it (`repository` is relative to the project)."""

    def artifacts(
        self,
        project: str,
        repository: str,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> ArtifactPage:
        """Artifacts of `project/repository`; q also takes tags=*, tags=nil, tags=~x, labels=(id …)."""

    def artifact(self, project: str, repository: str, reference: str) -> Artifact: ...
    def create_tag(self, project: str, repository: str, reference: str, tag: str) -> None:
        """Point a new tag at an artifact (ConflictError if the tag exists)."""

    def accessories(
        self,
        project: str,
        repository: str,
        reference: str,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> AccessoryPage:
        """Accessories of an artifact (signatures, SBOMs, referrers); q takes type=signature.cosign …"""

    def sbom(self, image: str) -> Sbom:
        """Build `image`'s SBOM from its layers (dpkg, apk) and store it as its sbom.harbor accessory."""

    def scan(self, image: str) -> ScanResult:
        """Scan `image` with the built-in scanner against the imported vulnerability database
        and store the report (an index: each image it lists, and the union)."""

    def vulnerabilities(self, image: str) -> VulnerabilityReport | None:
        """`image`'s stored vulnerability report, or None when it was never scanned."""

    def import_vulndb(self, path: str | os.PathLike[str]) -> VulndbImport:
        """Import OSV advisories: a directory of OSV JSON files, one file, or OSV's all.zip."""

    def create_registry(
        self,
        name: str,
        url: str,
        type: str = "docker-registry",
        *,
        access_key: str | None = None,
        access_secret: str | None = None,
        insecure: bool = False,
    ) -> RegistryEndpoint:
        """Register a remote registry (docker-registry, harbor or docker-hub); the secret is
        sealed and never shown back."""

    def create_proxy_project(self, name: str, registry_id: int, public: bool = False) -> Project:
        """A proxy-cache project: pulls of name/<path> come from the registry and are kept."""

    def create_replication_policy(self, policy: Mapping[str, Any]) -> ReplicationPolicy:
        """Create a replication policy (Harbor's ReplicationPolicy JSON)."""

    def start_replication(self, policy_id: int) -> int:
        """Start a run of the policy; returns the execution id (run_jobs() runs it here)."""

    def replication_execution(self, execution_id: int) -> ReplicationExecution: ...
    def replicate(
        self,
        remote: str,
        local: str,
        *,
        push: bool = False,
        tags: Sequence[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        insecure: bool = False,
        type: str | None = None,
    ) -> CopyReport:
        """Copy tags from the repository at `remote` (http(s)://host/path) into `local`
        (project/name), or the other way with push=True, now; digests are kept."""

    def sign(self, image: str, private_key_pem: str) -> str:
        """Sign `image` as `cosign sign --key` does (tag scheme) with an unencrypted PKCS#8 key
        (see generate_signing_key); returns the signature manifest's digest."""

    def trust_keys(self, project: _ProjectRef) -> list[TrustKey]: ...
    def add_trust_key(self, project: _ProjectRef, name: str, pem: str) -> TrustKey:
        """Trust a cosign public key or a notation CA certificate (PEM) in `project`."""

    def delete_trust_key(self, project: _ProjectRef, key_id: int) -> None: ...
    def delete_tag(self, project: str, repository: str, reference: str, tag: str) -> None: ...
    def create_label(self, name: str, *, project_id: int | None = None, description: str = "", color: str = "") -> Label:
        """A global label, or one of the project with `project_id`."""

    def labels(
        self,
        project_id: int | None = None,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> LabelPage: ...
    def delete_label(self, label_id: int) -> None: ...
    def attach_label(self, project: str, repository: str, reference: str, label_id: int) -> None: ...
    def detach_label(self, project: str, repository: str, reference: str, label_id: int) -> None: ...

@final
class Server(Registry):
    """A registry served over HTTP on loopback."""

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""

    @property
    def host(self) -> str:
        """127.0.0.1:PORT (what OCI clients call the registry host)."""

    @property
    def admin_username(self) -> str:
        """"admin"."""

    @property
    def admin_password(self) -> str | None:
        """The generated admin password (first start), else the one given to serve(); None when the
        admin existed already and none was given."""

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(admin_username, admin_password) for HTTP clients (requests' auth=, oras), or None."""

    def stop(self) -> None:
        """Stop serving and close (same as close())."""

@disjoint_base
class AsyncRegistry:
    """berth.aio.Registry: a Berth registry whose methods return awaitables."""

    @property
    def closed(self) -> bool: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def catalog(self, n: int | None = None, last: str | None = None) -> list[str]: ...
    async def list_tags(self, repository: str, n: int | None = None, last: str | None = None) -> list[str]: ...
    async def push_blob(self, repository: str, data: _Bytes) -> str: ...
    async def push_blob_file(self, repository: str, path: _Path) -> str: ...
    async def pull_blob(self, repository: str, digest: str) -> bytes: ...
    async def save_blob(self, repository: str, digest: str, path: _Path) -> int: ...
    async def stat_blob(self, repository: str, digest: str) -> int: ...
    async def delete_blob(self, repository: str, digest: str) -> None: ...
    async def mount_blob(self, repository: str, digest: str, from_repository: str | None = None) -> int | None: ...
    async def start_upload(self, repository: str) -> str: ...
    async def append_upload(self, repository: str, upload_id: str, data: _Bytes, offset: int | None = None) -> int: ...
    async def upload_status(self, repository: str, upload_id: str) -> int: ...
    async def finish_upload(
        self, repository: str, upload_id: str, digest: str, data: _Bytes | None = None, offset: int | None = None
    ) -> int: ...
    async def cancel_upload(self, repository: str, upload_id: str) -> None: ...
    async def purge_uploads(self, older_than_seconds: float) -> int: ...
    async def put_manifest(
        self,
        repository: str,
        reference: str,
        manifest: _Bytes,
        media_type: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> PushedManifest: ...
    async def get_manifest(self, repository: str, reference: str) -> Manifest: ...
    async def delete_manifest(self, repository: str, reference: str) -> None: ...
    async def referrers(self, repository: str, digest: str, artifact_type: str | None = None) -> dict[str, Any]: ...
    async def push_image(
        self,
        image: str,
        layers: Sequence[_Bytes | _Path] | None = None,
        config: _Config | None = None,
        *,
        config_media_type: str | None = None,
        layer_media_type: str | None = None,
        artifact_type: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> PushedImage: ...
    async def pull_image(self, image: str) -> PulledImage: ...
    async def import_layout(self, path: _Path, repository: str, tag: str | None = None) -> list[PushedManifest]: ...
    async def export_layout(self, image: str, path: _Path) -> str: ...
    # ---- identity and access: every call acts as the embedding program (all permissions) ----
    async def bootstrap(self, admin_password: str | None = None) -> str | None: ...
    async def login(self, username: str, password: str, client: str = "local") -> Who: ...
    async def create_project(
        self, name: str, public: bool = False, metadata: Mapping[str, str] | None = None, *, storage_limit: int | None = None
    ) -> Project: ...
    async def gc(
        self, *, dry_run: bool = False, delete_untagged: bool = False, workers: int = 1, grace_seconds: float = 7200.0
    ) -> GcReport: ...
    async def create_retention(self, policy: Mapping[str, Any]) -> int: ...
    async def retention_dry_run(self, policy_id: int) -> list[RetentionPreview]: ...
    async def quota(self, project: _ProjectRef) -> Quota: ...
    async def set_storage_limit(self, project: _ProjectRef, limit: int) -> None: ...
    async def run_jobs(self) -> int: ...
    async def read_only(self) -> bool: ...
    async def set_read_only(self, flag: bool) -> None: ...
    async def audit_logs(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> AuditLogPage: ...
    async def project(self, name: _ProjectRef) -> Project: ...
    async def projects(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> ProjectPage: ...
    async def update_project(self, name: _ProjectRef, metadata: Mapping[str, str]) -> None: ...
    async def delete_project(self, name: _ProjectRef) -> None: ...
    async def create_user(
        self, username: str, password: str, email: str = "", realname: str = "", comment: str = ""
    ) -> User: ...
    async def user(self, user_id: int) -> User: ...
    async def users(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> UserPage: ...
    async def set_sysadmin(self, user_id: int, flag: bool) -> None: ...
    async def change_password(self, user_id: int, password: str) -> None: ...
    async def delete_user(self, user_id: int) -> None: ...
    async def add_member(
        self, project: _ProjectRef, username: str | None = None, *, group: str | int | None = None, role: _Role = "developer"
    ) -> int: ...
    async def members(
        self,
        project: _ProjectRef,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> MemberPage: ...
    async def update_member(self, project: _ProjectRef, member_id: int, role: _Role) -> None: ...
    async def delete_member(self, project: _ProjectRef, member_id: int) -> None: ...
    async def create_robot(
        self,
        name: str,
        *,
        project: str | None = None,
        access: Sequence[RobotAccess] | None = None,
        permissions: Sequence[RobotPermission] | None = None,
        level: str | None = None,
        duration: int = -1,
        description: str = "",
        secret: str | None = None,
        disable: bool = False,
    ) -> RobotCreated: ...
    async def robot(self, robot_id: int) -> Robot: ...
    async def robots(
        self, q: str | None = None, sort: str | None = None, page: int | None = None, page_size: int | None = None
    ) -> RobotPage: ...
    async def refresh_robot_secret(self, robot_id: int, secret: str | None = None) -> str: ...
    async def delete_robot(self, robot_id: int) -> None: ...
    # ---- management views of content ---------------------------------------------------------
    async def repositories(
        self,
        project: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> RepositoryPage: ...
    async def delete_repository(self, project: str, repository: str) -> None: ...
    async def artifacts(
        self,
        project: str,
        repository: str,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> ArtifactPage: ...
    async def artifact(self, project: str, repository: str, reference: str) -> Artifact: ...
    async def create_tag(self, project: str, repository: str, reference: str, tag: str) -> None: ...
    async def accessories(
        self,
        project: str,
        repository: str,
        reference: str,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> AccessoryPage: ...
    async def sbom(self, image: str) -> Sbom: ...
    async def scan(self, image: str) -> ScanResult: ...
    async def vulnerabilities(self, image: str) -> VulnerabilityReport | None: ...
    async def import_vulndb(self, path: str | os.PathLike[str]) -> VulndbImport: ...
    async def create_registry(
        self,
        name: str,
        url: str,
        type: str = "docker-registry",
        *,
        access_key: str | None = None,
        access_secret: str | None = None,
        insecure: bool = False,
    ) -> RegistryEndpoint: ...
    async def create_proxy_project(self, name: str, registry_id: int, public: bool = False) -> Project: ...
    async def create_replication_policy(self, policy: Mapping[str, Any]) -> ReplicationPolicy: ...
    async def start_replication(self, policy_id: int) -> int: ...
    async def replication_execution(self, execution_id: int) -> ReplicationExecution: ...
    async def replicate(
        self,
        remote: str,
        local: str,
        *,
        push: bool = False,
        tags: Sequence[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        insecure: bool = False,
        type: str | None = None,
    ) -> CopyReport: ...
    async def sign(self, image: str, private_key_pem: str) -> str: ...
    async def trust_keys(self, project: _ProjectRef) -> list[TrustKey]: ...
    async def add_trust_key(self, project: _ProjectRef, name: str, pem: str) -> TrustKey: ...
    async def delete_trust_key(self, project: _ProjectRef, key_id: int) -> None: ...
    async def delete_tag(self, project: str, repository: str, reference: str, tag: str) -> None: ...
    async def create_label(self, name: str, *, project_id: int | None = None, description: str = "", color: str = "") -> Label: ...
    async def labels(
        self,
        project_id: int | None = None,
        q: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> LabelPage: ...
    async def delete_label(self, label_id: int) -> None: ...
    async def attach_label(self, project: str, repository: str, reference: str, label_id: int) -> None: ...
    async def detach_label(self, project: str, repository: str, reference: str, label_id: int) -> None: ...

@final
class AsyncServer(AsyncRegistry):
    """berth.aio.Server: an asyncio registry served over HTTP on loopback."""

    @property
    def url(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def admin_username(self) -> str: ...
    @property
    def admin_password(self) -> str | None: ...
    @property
    def credentials(self) -> tuple[str, str] | None: ...
    async def stop(self) -> None: ...
