"""Values keys the planners set below which a chart takes anything: the chart passes the map on whole
(usually as a program's own configuration file), so its values.yaml cannot list the keys. The values check
(`mojactl plan --render`) does not look below these; every entry says why. Keyed by chart name, then by
dotted values path (`*` matches one key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

FREE_FORM_VALUES: Final[Mapping[str, Mapping[str, str]]] = {
    "istiod": {
        "meshConfig": "Istio's MeshConfig (istio.io mesh configuration API), which istiod reads whole; the chart "
        "lists only a few of its fields",
    },
    "kratos": {
        "kratos.config": "Kratos' configuration file: the chart writes the map as kratos.yaml (Kratos' own schema "
        "checks it when the pod starts)",
    },
    "keto": {
        "keto.config": "Keto's configuration file: the chart writes the map as keto.yaml",
    },
    "minio": {
        "securityContext": "the chart writes the map (less `enabled`) as the pod's securityContext, so every "
        "PodSecurityContext field applies",
        "containerSecurityContext": "the chart writes the map as the containers' securityContext (toYaml)",
    },
    "oathkeeper": {
        "oathkeeper.config": "Oathkeeper's configuration file: the chart writes the map as config.yaml",
    },
}


def free_form_paths(chart: str) -> Mapping[str, str]:
    return FREE_FORM_VALUES.get(chart, {})
