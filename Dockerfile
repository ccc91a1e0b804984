# The image a Docker work pool runs Journeymap's flows in (see prefect.yaml): the project and its dependencies;
# the maps, the outbox and the warehouse come from outside (volumes, JOURNEY_* variables).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PREFECT_SERVER_ANALYTICS_ENABLED=false \
    JOURNEY_MAPS_DIR=/maps JOURNEY_OUTBOX_DIR=/outbox
WORKDIR /app
COPY pyproject.toml README.md ./
COPY flows flows
COPY connectors connectors
COPY models models
COPY checks checks
COPY reports reports
COPY journey.yaml prefect.yaml ./
RUN pip install --no-cache-dir . && useradd --create-home journeymap && mkdir -p /maps /outbox \
    && chown journeymap /outbox
USER journeymap
CMD ["journeymap", "--help"]
