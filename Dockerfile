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
# pod seeds from this one. The app never writes into /app.
RUN python -m ui.assets --static /app/static --strict \
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

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read() != b'ok')"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
