"""Releases: what changes between two, their validation (gates, the run, its report) and promotion between
stacks.

- gates.py: config/release-gates.yaml (required collections, pass rates, known-flaky suites) and judging
  a suite's result against it;
- validation.py: the ordered plan of a validation run (pure) and its dry-run text;
- environment.py: what a validation needs from an environment (an interface), and qa_environment.py, its
  implementation on the ephemeral QA environments (with kafka_topics.py for an upgrade's topic step);
- orchestrator.py: running a plan against an environment, always tearing it down;
- report.py: the validation report (JSON record, Markdown for release notes, JUnit);
- footprint.py: pods, CPU/memory requests and limits, volumes and images of a set of Kubernetes objects;
- report_store.py, promotion.py: where reports are kept, and `mojactl release promote`;
- diff.py, diff_render.py: `mojactl release diff`, two releases rendered with a stack's values and compared.
"""
