"""The audit report: a self-contained HTML page plus CSV/Parquet/JSON exports of the findings."""

from flows.report.build import ReportPaths, build_report
from flows.report.export import export_findings

__all__ = ["ReportPaths", "build_report", "export_findings"]
