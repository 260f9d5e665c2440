# The Python the tests need, in a virtualenv of its own: numpy and scipy for the benchmark
# tools, the OpenAPI validator, the TAK server the CoT test talks to (taky), and pmtiles
# for the browser test's basemap. Sourced by scripts/test.sh and scripts/ui-test.sh; sets
# DRONEWATCH_BENCH_PYTHON.
venv=${DRONEWATCH_BENCH_VENV:-$HOME/.cache/dronewatch/test-venv}
if ! "$venv/bin/python" -c 'import numpy, scipy, openapi_spec_validator, taky, pmtiles' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy==2.4.6 scipy==1.17.1 \
        openapi-spec-validator==0.7.2 taky==0.10 pmtiles==3.8.1
fi
export DRONEWATCH_BENCH_PYTHON="$venv/bin/python"
