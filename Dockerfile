# Descent Lab production image. Build: `docker build -t descent-lab .` (or deploy/build-image.sh with
# buildah); run: `docker run -p 8501:8501 -e STREAMLIT_SERVER_COOKIE_SECRET=... descent-lab`.
FROM python:3.12-slim

# numba's disk cache goes to NUMBA_CACHE_DIR: without it numba keeps the cache of the app's own compiled
# helpers in /app/optimizers/__pycache__ (read-only for the app user) or in ~/.cache (the app user has no
# home), and refuses to import them at all ("cannot cache function ... no locator available").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DESCENT_LAB_KERNEL_DIR=/var/cache/descent-lab \
    NUMBA_CACHE_DIR=/var/cache/descent-lab/numba \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not re-install them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# The app serves plotly.js itself from static/ (server.enableStaticServing): the full plotly.min.js out
# of the installed plotly package, and plotly's partial bundles (pinned version and sha512) from the npm
# registry, which make the first chart faster (ui/assets.py). Readable by everyone; owned by root.
# The optimizer kernels are compiled here, once (about 3 minutes on 2 cores), into DESCENT_LAB_KERNEL_DIR
# and numba's cache under it, so no visitor waits for a compiler. The app user adds kernels for visitors'
# formulas there at run time: with a read-only root filesystem (deploy/k8s) that folder is a volume the
# pod seeds from this one. The app never writes into /app; its own modules are byte-compiled here, since
# PYTHONDONTWRITEBYTECODE (and a read-only /app) would have every start compile them again.
RUN python -m ui.assets --static /app/static --strict \
    && python -m compileall -q /app \
    && chmod -R a+rX /app \
    && groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && mkdir -p "$DESCENT_LAB_KERNEL_DIR" \
    && python -m optimizers --warm \
    && chown -R 10001:10001 "$DESCENT_LAB_KERNEL_DIR"

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001

EXPOSE 8501

# Healthy means ready: warmed up (loadtest.serve wrote its ready file) and Streamlit's own liveness
# endpoint /_stcore/health answering ok now (`loadtest.warmup --check`, standard library only). The
# warm-up takes 15-30 s on 2 cores; compose starts nginx only once every replica is healthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "loadtest.warmup", "--check", "--url", "http://127.0.0.1:8501"]

# The server, warmed up at once by its launcher (every page, every catalogue surface's race: imports,
# surfaces, presets, pictures, kernels), so the first visitor after a start waits no longer than the
# next; SIGTERM is passed on to Streamlit.
CMD ["python", "-m", "loadtest.serve", "--server.address=0.0.0.0", "--server.port=8501"]
