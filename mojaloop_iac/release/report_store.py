"""Where validation reports are kept: a directory, or a bucket of the control center's object storage.

Reports are kept per release (`<release>/<finished at>-<environment>.json`), so promotion reads only the
reports of the release it promotes. Object storage credentials come from two environment variables,
read when the store is used (never stored); the endpoint's CA can be given as a PEM file.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mojaloop_iac.objectstore.client import S3Connection, s3_client
from mojaloop_iac.release.report import REPORT_SCHEMA


class ReportStore(Protocol):
    @property
    def location(self) -> str: ...

    def save(self, report: dict[str, Any]) -> str:
        """Keep a report (ValidationReport.to_json()); returns where it went."""
        ...

    def reports_for(self, release: str) -> tuple[list[dict[str, Any]], list[str]]:
        """The kept reports of `release`, and what could not be read (each named)."""
        ...


def report_name(report: dict[str, Any]) -> str:
    finished = report["finishedAt"].replace(":", "").replace("-", "")
    return f"{report['candidate']}/{finished}-{report['template']}.json"


def _readable(text: str, where: str, release: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        report = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"{where}: not JSON ({error.msg})"
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        return None, f"{where}: not a {REPORT_SCHEMA} report"
    if report.get("candidate") != release:
        return None, f"{where}: a report of {report.get('candidate')!r}, filed under {release}"
    return report, None


@dataclass(frozen=True)
class DirectoryReportStore:
    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def save(self, report: dict[str, Any]) -> str:
        path = self.root / report_name(report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        return str(path)

    def reports_for(self, release: str) -> tuple[list[dict[str, Any]], list[str]]:
        reports, problems = [], []
        for path in sorted((self.root / release).glob("*.json")):
            report, problem = _readable(path.read_text(encoding="utf-8"), str(path), release)
            if report is not None:
                reports.append(report)
            if problem is not None:
                problems.append(problem)
        return reports, problems


@dataclass(frozen=True)
class ObjectStorageReportStore:
    connection: S3Connection
    bucket: str
    prefix: str = "release-validation/"

    @property
    def location(self) -> str:
        return f"{self.connection.url}/{self.bucket}/{self.prefix}"

    def save(self, report: dict[str, Any]) -> str:
        key = self.prefix + report_name(report)
        data = (json.dumps(report, indent=2) + "\n").encode()
        s3_client(self.connection).put_object(self.bucket, key, io.BytesIO(data), len(data),
                                              content_type="application/json")
        return f"s3://{self.bucket}/{key}"

    def reports_for(self, release: str) -> tuple[list[dict[str, Any]], list[str]]:
        client = s3_client(self.connection)
        reports, problems = [], []
        for item in client.list_objects(self.bucket, prefix=f"{self.prefix}{release}/", recursive=True):
            response = client.get_object(self.bucket, item.object_name)
            try:
                text = response.read().decode("utf-8", errors="replace")
            finally:
                response.close()
                response.release_conn()
            report, problem = _readable(text, f"s3://{self.bucket}/{item.object_name}", release)
            if report is not None:
                reports.append(report)
            if problem is not None:
                problems.append(problem)
        return reports, problems
