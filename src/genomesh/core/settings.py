"""Settings for a node and for the hub (pydantic-settings, `GENOMESH_` environment prefix).

A node's settings live in `NODE_DIR/genomesh.toml`; any field can be overridden by an
environment variable `GENOMESH_<FIELD>` (nested: `GENOMESH_<FIELD>__<SUB>`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from genomesh.core.clients import parse_networks
from genomesh.core.errors import InvalidInputError, NotFoundError

Granularity = Literal["boolean", "count", "record"]
NODE_CONFIG_NAME = "genomesh.toml"
# The audience every node used to share (QA F23): a passport for it could be replayed at any
# node. Nodes now expect their own audience (their base_url); this value is refused.
SHARED_AUDIENCE = "genomesh"


def _networks(value: list[str]) -> list[str]:
    parse_networks(value)  # ValueError naming the bad entry
    return value


# proxy addresses/networks, checked when the settings load (node and hub alike)
TrustedProxies = Annotated[list[str], AfterValidator(_networks)]


class TierCaps(BaseModel):
    """The most each access tier may get for one dataset."""

    anonymous: Granularity = "boolean"
    registered: Granularity = "count"
    controlled: Granularity = "record"


class CommunityGroup(BaseModel):
    """Participants of a dataset governed collectively by a community (registered at the hub
    under `community`): none of them counts in an answer to a caller without that community's
    approval (a `genomesh.CommunityApproval` visa), and the machine-readable conditions of
    their Biocultural Labels are enforced like DUO modifiers (BC Non-Commercial)."""

    community: str = Field(min_length=2, max_length=63, description="the community's id at the hub")
    group: str = Field(default="", max_length=128, description="name of the group; empty = all")
    individuals: list[str] = Field(
        default_factory=list, description="the group's individual ids; empty = the whole dataset"
    )
    labels: list[str] = Field(
        default_factory=list, description="Local Contexts BC Labels/Notices, e.g. BC Non-Commercial"
    )


class DatasetPolicy(BaseModel):
    """Per-dataset disclosure and access policy set by the custodian."""

    communities: list[CommunityGroup] = Field(
        default_factory=list, description="community-governed participants (data sovereignty)"
    )

    tiers: TierCaps = Field(default_factory=TierCaps)
    min_count: int = Field(
        default=5, ge=1, description="counts below this are not disclosed exactly"
    )
    record_countries: list[str] = Field(
        default_factory=list,
        description="ISO codes where individual-level data may be seen; empty = anywhere",
    )
    aggregates_only: bool = Field(default=False, description="only aggregates may leave")
    consent_waiver: str | None = Field(
        default=None,
        description="reference of an approved waiver of consent (e.g. an ethics committee or "
        "s.251 decision); jurisdiction profiles that allow waivers accept it",
    )
    handovers: list[dict[str, Any]] = Field(default_factory=list)
    cohort_role: Literal["population", "control", "cases"] | None = Field(
        default=None,
        description="the dataset's role in case/control work, published in /info and the hub "
        "catalogue: a case search takes 'population' and 'control' datasets as its population "
        "when none is named; unset = not declared",
    )
    boolean_min_count: int = Field(
        default=1,
        ge=1,
        description="anonymous/registered answers at every granularity: a hit from fewer "
        "individuals than this is answered exactly as a true absence (hides rare alleles, "
        "Raisaro et al. 2017); 1 = off",
    )
    exposure_budget: float | None = Field(
        default=0.1,
        ge=0,
        description="per-participant membership exposure budget in nats, over every caller "
        "(genomesh.disclosure.exposure); once spent, answers that depend on the participant "
        "are computed without them. 'off' = no per-participant accounting",
    )
    dp_epsilon: float | None = Field(
        default=None,
        gt=0,
        description="ε of differential privacy on anonymous/registered boolean and count "
        "answers (Cho et al. 2020; genomesh.gate.noise); 'off' (default) = exact answers",
    )
    dp_false_negative_cost: float = Field(
        default=1.0, gt=0, description="DP membership: the loss of a false 'no'"
    )
    dp_false_positive_cost: float = Field(
        default=1.0, gt=0, description="DP membership: the loss of a false 'yes'"
    )
    exposure_charge: Literal["beacon_frequency", "expected"] = Field(
        default="expected",
        description="what an answer charges each carrier (genomesh.disclosure.exposure): the "
        "expected gain of an attacker with a reference panel (the default; higher for rare "
        "alleles), or the S&B yes-LLR at the beacon's own frequency k/2N "
        "(docs/disclosure-control.md)",
    )
    exposure_line_min: int = Field(
        default=4,
        ge=1,
        description="with the exposure budget on, each anonymous/registered answer from fewer "
        "than exposure_free_carriers people needs at least L of them, L drawn per answer by a "
        "keyed hash, uniformly from exposure_line_min to exposure_line_max "
        "(genomesh.disclosure.exposure.drawn_line)",
    )
    exposure_line_max: int = Field(
        default=8,
        ge=0,
        description="the highest drawn line (see exposure_line_min); below exposure_line_min "
        "= no drawn line (only the budget and boolean_min_count decide)",
    )
    exposure_free_carriers: int = Field(
        default=10,
        ge=1,
        description="answers from at least this many individuals are neither charged nor "
        "narrowed (their charge is below 5e-5 nats)",
    )

    scrutiny_budget: float | None = Field(
        default=25.0,
        ge=0,
        description="per-participant budget of questions asked about them, over every caller "
        "(genomesh.gate.narrowing): each distinct question about an answer from fewer than "
        "scrutiny_carriers people adds, to each of them, what a 'yes' would reveal (the "
        "expected charge), whatever the answer; past it, anonymous/registered answers from "
        "fewer than scrutiny_carriers people are computed without them. 'off' = not kept",
    )
    scrutiny_carriers: int = Field(
        default=50,
        ge=1,
        description="answers from fewer individuals than this are watched by the scrutiny "
        "account (counted, and computed without the over-scrutinised)",
    )

    @field_validator("exposure_budget", "dp_epsilon", "scrutiny_budget", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        """TOML has no null, environment variables are text: "off" (or "none") switches off."""
        if isinstance(value, str) and value.strip().lower() in ("off", "none", "null", ""):
            return None
        return value


class TrustedIssuer(BaseModel):
    """A passport/visa issuer the node trusts, with where to find its keys."""

    iss: str
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = Field(default=None, description="inline JWKS (tests, offline)")
    jku_allowed: list[str] = Field(
        default_factory=list, description="extra `jku` URLs accepted for this issuer's visas"
    )
    revocations_url: str | None = Field(
        default=None, description="the issuer's revocation list (GET /ga4gh/revocations), polled"
    )


class NodeSettings(BaseSettings):
    """Everything a node needs to run; read from the node folder's genomesh.toml."""

    model_config = SettingsConfigDict(
        env_prefix="GENOMESH_", env_nested_delimiter="__", extra="ignore"
    )

    node_dir: Path = Path(".")
    name: str = "genomesh-node"
    beacon_id: str = "org.genomesh.node"
    organization: str = "genomesh"
    jurisdiction: str = Field(default="ZZ", description="ISO 3166-1 alpha-2 country of the node")
    jurisdiction_profiles: Path | None = Field(
        default=None, description="TOML file of country profiles replacing the packaged ones"
    )
    base_url: str = "http://127.0.0.1:8100"
    audience: str | None = Field(
        default=None,
        description="expected `aud` of passports: this node's own audience (default: base_url); "
        "the old shared federation audience 'genomesh' is refused",
    )
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    passport_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="clock skew allowed on exp/iat/nbf"
    )
    max_passport_lifetime_seconds: int = Field(
        default=3600,
        ge=60,
        description="longest passport accepted (exp - iat); the hub's DAC issues passports for "
        "1 h (passport_lifetime_seconds) and per-node ones for at most 5 min",
    )
    jwks_cache_seconds: float = Field(
        default=300.0, ge=0, description="how long fetched keys are used"
    )
    jwks_refetch_min_seconds: float = Field(
        default=10.0, ge=0, description="least time between JWKS fetches for an unknown kid"
    )
    revocation_refresh_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="how often trusted revocation lists are polled"
    )
    revocation_max_stale_seconds: float = Field(
        default=600.0,
        ge=0,
        description="after this long without a fresh revocation list, that issuer's visas are dropped",
    )
    registered_requires_terms: bool = Field(
        default=True,
        description="registered tier needs AcceptedTermsAndPolicies besides ResearcherStatus",
    )
    dataset_url_prefixes: list[str] = Field(
        default_factory=list,
        description="extra URL prefixes (besides {base_url}/datasets/) of ControlledAccessGrants values",
    )
    default_policy: DatasetPolicy = Field(default_factory=DatasetPolicy)
    dataset_policies: dict[str, DatasetPolicy] = Field(default_factory=dict)
    query_budget: int = Field(
        default=1000, ge=1, description="queries per identity per window (anonymous/registered)"
    )
    budget_window_seconds: int = Field(default=86400, ge=1)
    # the matchmaker's scoring (docs/matchmaker.md#the-score; names as genomesh.matchmaker.scoring)
    match_phenotype_method: Literal[
        "query-resnik-jc", "resnik-jc", "resnik-bma", "jc-bma", "simgic"
    ] = "query-resnik-jc"
    match_weighting: Literal["genomesh", "patientmatcher"] = "genomesh"
    match_ic: Literal["omim", "orpha", "gene"] = "omim"
    max_request_bytes: int = Field(
        default=1_000_000,
        ge=1,
        description="largest request body any node route accepts (413 above, before parsing)",
    )
    max_limit: int = Field(default=1000, ge=1, description="largest page size a caller may ask for")
    state_url: str | None = Field(
        default=None, description="SQLAlchemy URL for node state; default SQLite in node_dir"
    )
    hub_url: str | None = Field(
        default=None,
        description="the hub that receives withdrawal notifications (POST /notifications)",
    )
    hub_secret: str | None = Field(
        default=None,
        description="shared secret the hub issued this node (`genomesh dac node-secret`); sent as "
        "`Authorization: Bearer` with withdrawal notifications",
    )
    trusted_proxies: TrustedProxies = Field(
        default_factory=list,
        description="addresses/networks of reverse proxies whose X-Forwarded-For is believed; "
        "default none: the socket peer is the caller (genomesh.core.clients)",
    )

    anti_differencing_answers: int = Field(
        default=20,
        ge=0,
        description="earlier answers per identity and dataset compared against (0 = rule off)",
    )
    admin_token: str | None = Field(
        default=None,
        description="the custodian's bearer token: the node's admin API (/admin: compelled "
        "disclosures, the findings queue) and the portal's custodian view; default: generated "
        "into NODE_DIR/admin.token (genomesh.node.admin)",
    )
    custodian_contact: str = Field(
        default="",
        description="how participants reach the custodian (shown with every returned finding)",
    )
    genetic_counselling: str = Field(
        default="",
        description="the genetic counselling offered with a returned finding (who, how to book)",
    )
    hub_key: str | None = Field(
        default=None,
        description="the hub's Ed25519 public key (base64url, `genomesh hub key`): analysis "
        "rounds must be signed with it; default: the key pinned in NODE_DIR/dialout_hub.key",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="address of a Dask distributed scheduler (tcp://HOST:PORT) that runs the "
        "node's analyses; default: local threads",
    )
    analysis_chunk_variants: int = Field(
        default=10_000,
        ge=1,
        description="variants per genotype chunk streamed by analyses (memory ~ chunk x individuals)",
    )
    analysis_dosage_cache: bool = Field(
        default=False,
        description="keep each dataset version's dosages in a sparse layout (per variant the "
        "non-zero and missing calls: ~5 bytes per non-REF/REF call, NODE_DIR/analysis-cache) "
        "after the first analysis reads them: later analyses read a memory map instead of "
        "decompressing the Zarr calls, and the GWAS kernel touches only the non-zero calls",
    )
    analysis_min_mac: int = Field(
        default=5,
        ge=0,
        description="floor for a variant's minor-allele count per dataset before a GWAS "
        "sends anything about it (a researcher's min_mac can raise it, not lower it)",
    )
    max_analysis_round_bytes: int = Field(
        default=64_000_000,
        ge=1,
        description="largest body POST /analysis/rounds accepts (a GWAS round may carry the "
        "union of the datasets' variant keys, ~40 bytes each); every other route keeps "
        "max_request_bytes",
    )
    audit_anchor_entries: int = Field(
        default=100,
        ge=0,
        description="send the signed audit head to hub_url after this many new entries "
        "(0 = never anchor; see docs/audit.md)",
    )
    audit_anchor_seconds: float = Field(
        default=300.0,
        ge=0,
        description="... or when this long has passed since the last acknowledged anchor and "
        "the log has grown (0 = by entries only)",
    )
    audit_anchor_check_seconds: float = Field(
        default=5.0, gt=0, description="how often the node looks at its audit head"
    )

    @property
    def expected_audience(self) -> str:
        """The `aud` a passport must name to be accepted here: `audience`, else `base_url`."""
        return self.audience or self.base_url.rstrip("/")

    def policy_for(self, dataset_id: str) -> DatasetPolicy:
        """The custodian's policy for a dataset (the node default when none is set)."""
        return self.dataset_policies.get(dataset_id, self.default_policy)

    @property
    def state_database_url(self) -> str:
        return self.state_url or f"sqlite:///{(self.node_dir / 'state.sqlite').resolve()}"

    @classmethod
    def load(cls, node_dir: Path | str, **overrides: Any) -> NodeSettings:
        """Read NODE_DIR/genomesh.toml; environment variables and `overrides` win over it."""
        node_dir = Path(node_dir)
        config = node_dir / NODE_CONFIG_NAME
        if not config.is_file():
            raise NotFoundError(
                f"no node at {node_dir} (missing {NODE_CONFIG_NAME}; run `genomesh node init`)"
            )
        try:
            data = tomllib.loads(config.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"cannot parse node config: {exc}", file=str(config)) from exc
        # Environment beats file: let pydantic-settings read the env, then fill the rest from the file.
        env_only = cls(**overrides)
        explicit = env_only.model_fields_set
        merged = {k: v for k, v in data.items() if k not in explicit}
        merged.update({k: getattr(env_only, k) for k in explicit})
        merged["node_dir"] = node_dir
        return cls.model_validate({**merged, **overrides})


class HubSettings(BaseSettings):
    """Everything the hub needs to run."""

    model_config = SettingsConfigDict(
        env_prefix="GENOMESH_HUB_", env_nested_delimiter="__", extra="ignore"
    )

    hub_dir: Path = Path("hub")
    name: str = "genomesh-hub"
    beacon_id: str = "org.genomesh.hub"
    base_url: str = "http://127.0.0.1:8000"
    issuer: str = Field(default="http://127.0.0.1:8000", description="`iss` of passports and visas")
    passport_audience: str | None = Field(
        default=None,
        description="`aud` of the passports the DAC issues and the Beacon network accepts "
        "(default: base_url); nodes get derived passports for their own audience",
    )
    passport_lifetime_seconds: int = Field(default=3600, ge=60)
    derived_passport_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="longest life of a per-node passport the hub derives for a fan-out "
        "(never beyond the original passport's exp)",
    )
    key_rotation_days: float = Field(
        default=90,
        ge=0,
        description="rotate the passport signing key after this many days; 0 = never",
    )
    node_timeout_seconds: float = Field(default=5.0, gt=0)
    breaker_failures: int = Field(
        default=3,
        ge=0,
        description="consecutive timeouts/connection failures after which a node's circuit "
        "opens (answered 'node not responding' at once, probed in the background); 0 = off",
    )
    breaker_probe_seconds: float = Field(
        default=2.0, gt=0, description="pause between probes of a node with an open circuit"
    )
    state_url: str | None = None
    admin_password: str | None = Field(
        default=None, description="initial admin password; required to create the admin account"
    )
    admin_token: str | None = Field(
        default=None,
        description="bearer token for registry changes; default: generated into HUB_DIR/admin.token",
    )
    catalogue_sync_seconds: float = Field(
        default=300.0, ge=0, description="how often the catalogue re-syncs from nodes; 0 = never"
    )
    dialout_poll_seconds: float = Field(
        default=20.0, gt=0, description="longest a dial-out node's long-poll is held open"
    )
    dialout_max_skew_seconds: float = Field(
        default=60.0, gt=0, description="accepted clock skew of signed dial-out messages"
    )
    max_request_bytes: int = Field(
        default=1_000_000,
        ge=1,
        description="largest request body any hub route accepts (413 above, before parsing)",
    )
    max_answer_bytes: int = Field(
        default=16_000_000,
        ge=1,
        description="largest body on /dialout/ (signed answers of dial-out nodes, which may "
        "carry record-level Beacon results)",
    )
    analysis_round_timeout_seconds: float = Field(
        default=600.0, gt=0, description="longest the hub waits for one node's analysis round"
    )
    analysis_retries: int = Field(
        default=5,
        ge=0,
        description="times a round is re-sent to a node that failed or timed out (a node "
        "restarting) before the analysis fails",
    )
    analysis_retry_seconds: float = Field(
        default=2.0, ge=0, description="wait before re-sending a failed round (doubles each time)"
    )
    trusted_proxies: TrustedProxies = Field(
        default_factory=list,
        description="addresses/networks of reverse proxies whose X-Forwarded-For is believed; "
        "default none: the socket peer is the caller (genomesh.core.clients)",
    )

    caller_budget: int = Field(
        default=1000,
        ge=1,
        description="Beacon network queries per caller per window at the hub (a second line: "
        "nodes account per participant, over every caller)",
    )
    caller_budget_window_seconds: int = Field(default=86400, ge=1)

    @property
    def state_database_url(self) -> str:
        return self.state_url or f"sqlite:///{(self.hub_dir / 'hub.sqlite').resolve()}"

    @property
    def hub_audience(self) -> str:
        """The `aud` of researcher passports for this hub: `passport_audience`, else base_url."""
        return self.passport_audience or self.base_url.rstrip("/")


__all__ = [
    "SHARED_AUDIENCE",
    "CommunityGroup",
    "DatasetPolicy",
    "Granularity",
    "HubSettings",
    "NodeSettings",
    "TierCaps",
    "TrustedIssuer",
]
