"""What single configuration values must look like, each check explained in words with an example.

Annotated types for the models (`DnsLabel`, `Hostname`, `HttpsUrl`, ...): each validator raises
ValueError with a message saying what is allowed, since a regular expression is no explanation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, StrictInt, ValidationInfo

from mojaloop_iac import contract
from mojaloop_iac.config.files import (
    CA_CERTIFICATE,
    K3S_BINARY,
    K3S_INSTALL_SCRIPT,
    KNOWN_HOSTS,
    PGP_PUBLIC_KEY,
    SSH_PRIVATE_KEY,
    VALUES_FILE,
    FileKind,
    checks_files,
    location_of,
    resolve_file,
)

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", re.ASCII)
_STACK_PART = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
_WIREGUARD_KEY = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", re.ASCII)
# Kubernetes and its distributions own label keys under these domains (and their subdomains).
_RESERVED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io")
MAX_DOMAIN_LENGTH = 200
"""The toolkit derives host names under each domain (`vault.`, `*.`, `keycloak.`...) within DNS's 253."""
MAX_USER_NAME_LENGTH = 32


def hostname(value: str) -> str:
    """A lower-case DNS name, each label at most 63 characters, the whole at most 253."""
    labels = value.split(".")
    if len(value) > 253 or not all(len(label) <= 63 and _DNS_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{value!r} must be a lower-case DNS name such as mojaloop.example.com: labels of letters, digits "
            "and '-' separated by dots, each at most 63 characters"
        )
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is neither an IPv4 address nor a DNS name (a DNS name does not end in a number)")
    return value


def domain(value: str) -> str:
    hostname(value)
    if "." not in value or value.rsplit(".", 1)[1].isdigit():
        raise ValueError(f"{value!r} must be a domain of at least two labels, such as demo.mojaloop.example")
    if len(value) > MAX_DOMAIN_LENGTH:
        raise ValueError(
            f"{value!r} has {len(value)} characters; at most {MAX_DOMAIN_LENGTH}, so that the host names "
            "made under it (vault.<domain>, keycloak.<domain>, ...) stay within DNS's 253"
        )
    return value


def label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if prefix:
        try:
            hostname(prefix)
        except ValueError:
            raise ValueError(
                f"{value!r}: the prefix before '/' must be a lower-case DNS name such as example.com"
            ) from None
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"{value!r} must be a Kubernetes label key: an optional DNS-name prefix and '/', then a name of at "
            "most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit "
            "(e.g. example.com/tier)"
        )
    return value


def node_label_key(value: str) -> str:
    """A label the stack may put on nodes: not one Kubernetes or the toolkit itself owns."""
    label_key(value)
    prefix = value.rpartition("/")[0]
    if any(prefix == reserved or prefix.endswith("." + reserved) for reserved in _RESERVED_LABEL_DOMAINS):
        raise ValueError(
            f"{value!r} is under {prefix}/, which Kubernetes reserves for itself; use your own prefix such as "
            "example.com/tier"
        )
    if value.startswith(contract.WORKLOAD_CLASS_LABEL_PREFIX) or value == contract.NODE_POOL_LABEL:
        raise ValueError(
            f"{value!r} is set by the toolkit itself (from the pool's name and workloadClasses); list the "
            "class under workloadClasses instead"
        )
    return value


def label_value(value: str) -> str:
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        raise ValueError(
            f"{value!r} must be a Kubernetes label value: at most 63 letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit, or empty (e.g. fast)"
        )
    return value


def matching(pattern: str, explanation: str, max_length: int | None = None) -> Callable[[str], str]:
    """A validator of text matching `pattern` whole (ASCII), its error `'<value>' <explanation>`."""
    compiled = re.compile(pattern, re.ASCII)

    def check(value: str) -> str:
        if (max_length is not None and len(value) > max_length) or not compiled.fullmatch(value):
            raise ValueError(f"{value!r} {explanation}")
        return value

    return check


dns_label = matching(
    _DNS_LABEL.pattern,
    "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most "
    "63 characters (e.g. core-1)",
    63,
)
# A release, or a release candidate (a pre-release suffix); the catalog decides which exist.
release_version = matching(
    r"\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?",
    "must be a release version such as 15.2.0 (or a catalogued candidate such as 16.0.0-rc.20240129)",
)
chart_version = matching(r"v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", "must be a chart version such as 1.29.4 or v1.20.3")
kubernetes_minor = matching(r"1\.\d{1,2}", 'must be a Kubernetes minor version such as "1.28" (quote it in YAML)')
k3s_version = matching(r"v1\.\d+\.\d+\+k3s\d+", "must be a k3s release such as v1.28.15+k3s1")
aws_region = matching(r"[a-z]{2}(-[a-z]+)+-\d", "must be an AWS region such as eu-west-1")
environment_variable = matching(
    r"[A-Za-z_][A-Za-z0-9_]*",
    "must be an environment variable name: letters, digits and '_', not starting with a digit (e.g. VAULT_TOKEN)",
)
email = matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "must be an e-mail address such as ops@example.org", 254)
posix_user = matching(
    r"[a-z_][a-z0-9_-]*",
    "must be a user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most "
    f"{MAX_USER_NAME_LENGTH} characters (e.g. debian)",
    MAX_USER_NAME_LENGTH,
)
sha256 = matching(r"[0-9a-f]{64}", "must be a sha256: 64 lower-case hex digits, as `sha256sum FILE` prints them")
stack_name = matching(r"[A-Za-z0-9_.-]{1,100}", "must be a stack name: letters, digits, '_', '.' and '-' (e.g. demo)")
commit_id = matching(r"[0-9a-f]{7,64}", "must be a commit id: 7 to 64 lower-case hex digits (e.g. 3f2c1ab)")
duration = matching(r"[1-9]\d{0,6}[smh]", "must be a duration: a whole number and s, m or h (e.g. 2h)")


def duration_seconds(value: str) -> int:
    """A `duration` (`90m`, `2h`, `45s`) as seconds."""
    return int(value[:-1]) * {"s": 1, "m": 60, "h": 3600}[value[-1]]

# CI logins bind Vault roles to these claims as globs: a '*' here would let every project on the server in.
gitlab_project = matching(
    r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+",
    "must be a GitLab project path, group[/subgroup]/project, each part letters, digits, '_', '.' and '-', no "
    "wildcards (e.g. mojaloop/hub-config)", max_length=255,
)
github_repository = matching(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}",
    "must be a GitHub repository, owner/name (the owner letters, digits and '-', the name letters, digits, '_', '.' "
    "and '-'), no wildcards (e.g. mojaloop/hub-config)",
)
jwt_audience = matching(
    r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,254}",
    "must be the audience the CI token is issued for: not empty, letters, digits, '_', '.', ':', '/' and '-', no "
    "wildcards or spaces (e.g. mojaloop-qa)",
)
instance_type = matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "must be an EC2 instance type such as m6i.xlarge")


def stack_reference(value: str) -> str:
    parts = value.split("/")
    if (
        len(parts) > 3
        or len(value) > 300
        or not all(_STACK_PART.fullmatch(part) and part not in (".", "..") for part in parts)
    ):
        raise ValueError(
            f"{value!r} must name a Pulumi stack: organization/project/stack, project/stack or a stack name, "
            "each part letters, digits, '_', '.' and '-' (e.g. organization/mojaloop/control-center)"
        )
    return value


def wireguard_public_key(value: str) -> str:
    if not _WIREGUARD_KEY.fullmatch(value):
        raise ValueError(
            "must be a WireGuard public key: 44 characters of base64 ending in '=', as `wg pubkey` prints "
            "(e.g. Z+0lf7EvixzkTAEovQn6eNMMr4/ElKK/2aNbcWM8sE0=)"
        )
    return value


def wireguard_endpoint(value: str) -> str:
    from mojaloop_iac.wireguard import MeshPlanError
    from mojaloop_iac.wireguard.spec import parse_endpoint

    try:
        if not value.isascii():
            raise MeshPlanError("not ASCII")
        endpoint = parse_endpoint(value, "hub")
    except MeshPlanError:
        raise ValueError(
            f"{value!r} must be host:port, the host a DNS name or an IPv4 address ([address]:port for IPv6) "
            "and the port 1-65535 (e.g. vpn.cc.example.com:51820)"
        ) from None
    try:
        reason = special_address(ipaddress.ip_address(endpoint.host))
    except ValueError:
        reason = None
    if reason:
        raise ValueError(f"{value!r}: peers cannot dial {reason}; give the hub's public name or address")
    return value


def special_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address cannot be a machine's own, reachable address; None when it can."""
    if address.is_unspecified:
        return "the unspecified address"
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return "the broadcast address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    return None


def host_address(value: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    if not isinstance(value, ipaddress.IPv4Address):
        raise ValueError(
            f"{value} is IPv6: host addresses must be IPv4, since the cluster's pod and service networks and "
            "the WireGuard mesh are IPv4-only (an sshHost may be IPv6)"
        )
    reason = special_address(value)
    if reason:
        raise ValueError(f"{value} is {reason}; give the host's own unicast address, e.g. 192.0.2.11")
    return value


def ssh_target(value: Any) -> Any:
    """Where Ansible connects: loopback is fine (a tunnel or forwarded port), but not a non-address."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        reason = special_address(value)
        if reason and not value.is_loopback:
            raise ValueError(f"{value} is {reason}; SSH cannot connect there")
    return value


# Networks no cluster, VPC or tunnel can use: "this network", loopback, link-local, multicast, reserved.
_UNUSABLE_NETWORKS = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)


def usable_network(value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if value.prefixlen == 0:
        raise ValueError(f"{value} is the whole address space (a default route); list the networks themselves")
    for unusable in _UNUSABLE_NETWORKS:
        if value.overlaps(unusable):
            raise ValueError(
                f"{value} overlaps {unusable}, which is not usable for addresses (this-network, loopback, "
                "link-local, multicast or reserved); use a private range such as 10.42.0.0/16"
            )
    return value


# The largest network one entry may open a service to: the largest private range (10.0.0.0/8).
MIN_ALLOWED_PREFIX = 8


def allowed_network(value: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Any:
    """A network allowed to reach a service: not everyone, and a network hosts can be in."""
    if value.prefixlen == 0:
        raise ValueError(f"{value} is the whole address space: it would open the API to everyone; list the networks")
    if value.version == 6:
        raise ValueError(f"{value} is IPv6, but the cluster, its host firewall and the mesh are IPv4-only; give the "
                         "IPv4 networks, e.g. 203.0.113.0/24")
    if value.is_multicast or value.is_unspecified or value.is_loopback:
        raise ValueError(f"{value} is not a network of hosts (multicast, unspecified or loopback)")
    if value.prefixlen < MIN_ALLOWED_PREFIX:
        raise ValueError(f"{value} is a /{value.prefixlen}, larger than a /{MIN_ALLOWED_PREFIX} (the largest private "
                         "range, 10.0.0.0/8): it would open the API to a large part of the Internet; list the "
                         "operators' and CI's own networks, e.g. 203.0.113.0/24")
    return value


def api_endpoint(value: Any) -> Any:
    """The API's address in front of the servers: reachable from the nodes and the operators."""
    if isinstance(value, ipaddress.IPv6Address):
        raise ValueError(f"{value} is IPv6, but the cluster is IPv4-only (its nodes reach the API over IPv4); give "
                         "an IPv4 virtual IP or a DNS name, e.g. 192.0.2.10 or api.demo.example.com")
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        reason = special_address(value)
        if reason:
            raise ValueError(f"{value} is {reason}; give the virtual IP or load balancer in front of the servers")
    return value


def ipv4_only(example: str) -> BeforeValidator:
    """An IPv6 address or network where only IPv4 fits: say so, rather than "not a valid IPv4 network"."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = ipaddress.ip_network(value, strict=False)
            except ValueError:
                return value
            if parsed.version == 6:
                raise ValueError(f"{value} is IPv6, but the cluster, its networks and the WireGuard mesh are "
                                 f"IPv4-only; give an IPv4 one, e.g. {example}")
        return value

    return BeforeValidator(check)


def url(value: str, *, what: str, allow_http: bool, allow_path: bool = True) -> str:
    """An http(s) URL that parses, with a host name or address, no user or password, no query."""
    example = "e.g. https://vault.int.cc.example.com:8200"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not a URL ({what}); {example}") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        wanted = "an https:// (or http://) URL" if allow_http else "an https:// URL"
        raise ValueError(f"{value!r} must be {wanted} with a host ({what}); {example}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(
            f"must not carry a user name or password ({what}): they would be copied into resources and state; give "
            "credentials through the documented secret mechanism instead"
        )
    if any(character.isspace() for character in value) or parts.query or parts.fragment:
        raise ValueError(f"{value!r} must be a plain URL without spaces, query or fragment ({what}); {example}")
    if not allow_path and parts.path not in ("", "/"):
        raise ValueError(f"{value!r} must name the server only, without a path ({what}); {example}")
    host = parts.hostname
    if host.endswith(".") and not host.endswith(".."):
        # TLS certificates name hosts without the root's dot, so clients would not match it against one.
        raise ValueError(f"{value!r}: drop the final dot of {host!r} ({what}): certificates name the host without "
                         f"it, e.g. https://{host.rstrip('.')}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            hostname(host)
        except ValueError:
            raise ValueError(f"{value!r}: {host!r} is not a host name or IP address ({what}); {example}") from None
    else:
        reason = special_address(address)
        if reason in ("the unspecified address", "the broadcast address", "a multicast address", "a reserved address"):
            raise ValueError(f"{value!r}: {host} is {reason}, which no client can connect to ({what})")
        if reason == "a link-local address":
            # 169.254.169.254 is the cloud's instance metadata service: credentials, not a server of ours.
            raise ValueError(f"{value!r}: {host} is a link-local address (the instance metadata service lives there), "
                             f"not a server's ({what}); {example}")
    if port == 0:
        raise ValueError(f"{value!r}: port 0 is not a port ({what}); {example}")
    return value


def https_url(value: str) -> str:
    return url(value, what="https URL", allow_http=False)


def http_or_https_url(value: str) -> str:
    """Checked again in the rules: http:// needs the section's explicit insecureHttp flag."""
    return url(value, what="URL", allow_http=True)


def vault_address(value: str) -> str:
    return url(value, what="Vault address", allow_http=True, allow_path=False)


def registry_host(value: str) -> str:
    """host[:port][/path], what containerd and the charts prefix image names with; or its https:// URL."""
    if not value:
        return value
    scheme, separator, rest = value.partition("://")
    if separator and scheme != "https":
        raise ValueError(
            f"{value!r}: the nodes always pull over https; give the registry's host, such as "
            "mirror.int.cc.example.com, or its https:// URL"
        )
    host_port, _, path = (rest if separator else value).rstrip("/").partition("/")
    host, colon, port = host_port.partition(":")
    problems = "@" in value or any(character.isspace() for character in value)
    if colon and (not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535):
        problems = True
    try:
        hostname(host)
    except ValueError:
        try:
            special = special_address(ipaddress.IPv4Address(host))
        except ValueError:
            problems = True
        else:
            problems = problems or (special is not None and special != "a loopback address")
    if path and not all(re.fullmatch(r"[a-z0-9._-]+", part, re.ASCII) for part in path.split("/")):
        problems = True
    if problems:
        raise ValueError(
            f"{value!r} must be a registry host[:port][/path] (or its https:// URL): a lower-case DNS name or "
            "IPv4 address, an optional port 1-65535 and path of lower-case parts (e.g. mirror.int.cc.example.com "
            "or mirror.example.com:5000/docker.io)"
        )
    return value


def written_as_text(example: str) -> BeforeValidator:
    """Addresses and networks as text: pydantic would also take a number (or true) for one."""

    def check(value: Any) -> Any:
        if not isinstance(value, (str, ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                                  ipaddress.IPv6Network)):
            raise ValueError(f"must be written as text, such as {example}")
        return value

    return BeforeValidator(check)


def _stack_file(kind: FileKind) -> AfterValidator:
    def check(value: str, info: ValidationInfo) -> str:
        if not checks_files(info.context):
            return value
        return resolve_file(value, location_of(info.context), kind)

    return AfterValidator(check)


DnsLabel = Annotated[str, AfterValidator(dns_label)]
Hostname = Annotated[str, AfterValidator(hostname)]
Domain = Annotated[str, AfterValidator(domain)]
LabelKey = Annotated[str, AfterValidator(label_key)]
NodeLabelKey = Annotated[str, AfterValidator(node_label_key)]
LabelValue = Annotated[str, AfterValidator(label_value)]
ReleaseVersion = Annotated[str, AfterValidator(release_version)]
KubernetesMinor = Annotated[str, AfterValidator(kubernetes_minor)]
ChartVersion = Annotated[str, AfterValidator(chart_version)]
K3sVersion = Annotated[str, AfterValidator(k3s_version)]
AwsRegion = Annotated[str, AfterValidator(aws_region)]
EnvironmentVariable = Annotated[str, AfterValidator(environment_variable)]
Email = Annotated[str, AfterValidator(email)]
PosixUser = Annotated[str, AfterValidator(posix_user)]
StackReference = Annotated[str, AfterValidator(stack_reference)]
WireGuardPublicKey = Annotated[str, AfterValidator(wireguard_public_key)]
WireGuardEndpoint = Annotated[str, AfterValidator(wireguard_endpoint)]
InstanceType = Annotated[str, AfterValidator(instance_type)]
GitlabProject = Annotated[str, AfterValidator(gitlab_project)]
GithubRepository = Annotated[str, AfterValidator(github_repository)]
JwtAudience = Annotated[str, AfterValidator(jwt_audience)]
IPv4Address = Annotated[ipaddress.IPv4Address, written_as_text("10.250.0.7"), ipv4_only("10.250.0.7")]
HostAddress = Annotated[
    ipaddress.IPv4Address | ipaddress.IPv6Address, written_as_text("192.0.2.11"), AfterValidator(host_address)
]
SshTarget = Annotated[
    ipaddress.IPv4Address | ipaddress.IPv6Address | Hostname, written_as_text("192.0.2.11 or bastion.example.com"),
    AfterValidator(ssh_target),
]
UsableNetwork = Annotated[
    ipaddress.IPv4Network, written_as_text("10.42.0.0/16"), ipv4_only("10.42.0.0/16"), AfterValidator(usable_network)
]
AllowedNetwork = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network, written_as_text("10.250.0.0/24"), AfterValidator(allowed_network)
]
AllowedIPv4Network = Annotated[
    ipaddress.IPv4Network, written_as_text("203.0.113.0/24"), ipv4_only("203.0.113.0/24"), AfterValidator(allowed_network)
]
ApiEndpoint = Annotated[
    ipaddress.IPv4Address | ipaddress.IPv6Address | Hostname, written_as_text("192.0.2.10 or api.example.com"),
    AfterValidator(api_endpoint),
]
Sha256 = Annotated[str, AfterValidator(sha256)]
StackName = Annotated[str, AfterValidator(stack_name)]
CommitId = Annotated[str, AfterValidator(commit_id)]
Duration = Annotated[str, AfterValidator(duration)]
HttpsUrl = Annotated[str, AfterValidator(https_url)]
HttpUrl = Annotated[str, AfterValidator(http_or_https_url)]
VaultAddress = Annotated[str, AfterValidator(vault_address)]
RegistryHost = Annotated[str, AfterValidator(registry_host)]
ValuesFile = Annotated[str, _stack_file(VALUES_FILE)]
PgpPublicKeyFile = Annotated[str, _stack_file(PGP_PUBLIC_KEY)]
CaCertificateFile = Annotated[str, _stack_file(CA_CERTIFICATE)]
SshPrivateKeyFile = Annotated[str, _stack_file(SSH_PRIVATE_KEY)]
KnownHostsFile = Annotated[str, _stack_file(KNOWN_HOSTS)]
K3sInstallScriptFile = Annotated[str, _stack_file(K3S_INSTALL_SCRIPT)]
K3sBinaryFile = Annotated[str, _stack_file(K3S_BINARY)]


def prefix_between(shortest: int, longest: int, why: str) -> AfterValidator:
    """A network whose prefix length lies in [shortest, longest], `why` saying where the bounds come from."""

    def check(value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not shortest <= value.prefixlen <= longest:
            raise ValueError(
                f"{value} is a /{value.prefixlen}; it must be between a /{shortest} and a /{longest} ({why})"
            )
        return value

    return AfterValidator(check)


def optional_url(value: str) -> str:
    return http_or_https_url(value) if value else value


OptionalHttpUrl = Annotated[str, AfterValidator(optional_url)]


_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,17})")


def _whole_number(value: Any) -> Any:
    """Digits written as text (`minSize: "2"`, as `pulumi config set --path` may store them) are the number;
    a leading zero (`"0022"`, octal to some readers) or any other text is refused; booleans are no numbers
    (pydantic's lax int takes true as 1: `desiredSize: yes`)."""
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value):
            return int(value)
        if re.fullmatch(r"-?0[0-9]+", value):
            raise ValueError(f"{value!r} has a leading zero, which some YAML readers take for octal: write "
                             f"{int(value)} without it")
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
"""An integer setting: an integer (or its decimal digits as text), never true/false, a float or .nan."""
