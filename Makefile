.PHONY: demo demo-labels test ui
# Set everything up and run the nightly job on the bundled sample corpus.
demo:
	bash scripts/demo.sh
# After the demo: two demo annotators label the queue; pull, train, re-run the nights.
demo-labels:
	bash scripts/demo_labels.sh
# Set everything up and run the whole test suite (what CI runs).
test:
	bash scripts/test.sh
# Open the Dagster UI on http://127.0.0.1:3000
ui:
	bash -c 'source scripts/env.sh && .venv/bin/dagster dev -w workspace.yaml'
