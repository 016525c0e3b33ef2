"""Flask application factory."""

from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, request, send_from_directory

from api.edge import init_edge
from api.errors import register_error_handlers
from api.observability import init_observability
from api.openapi import ProblemApi
from api.ops import init_ops
from api.ratelimit import init_rate_limits
from api.request_body import StreamingRequest
from api.web.errors import init_error_pages
from api.web.i18n import init_i18n
from shared.db import get_database
from shared.logs import configure_logging
from shared.media.probe_process import SPARE
from shared.ops.purge import ScratchSweeper
from shared.production import GUNICORN_APP_LOAD_ERROR, require_production_settings
from shared.settings import Settings, get_settings
from shared.storage import get_default_storage
from shared.tenants.storage import get_tenant_storages


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.request_class = StreamingRequest
    app.config.update(
        SETTINGS=settings,
        # Small by default; the upload endpoints raise it for their own requests (allow_upload_body).
        MAX_CONTENT_LENGTH=settings.MAX_REQUEST_BYTES,
        API_TITLE="Showreel",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Served from the swagger-ui-bundle wheel: the docs work offline, no CDN.
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        JSON_SORT_KEYS=False,
    )
    db = get_database(settings)
    default_storage = get_default_storage(settings)
    app.extensions["showreel.db"] = db
    app.extensions["showreel.default_storage"] = default_storage
    # tenant id -> its storage under its prefix (the platform default where it has none); .by_name() too.
    app.extensions["showreel.storages"] = get_tenant_storages(settings)

    api = ProblemApi(app, spec_kwargs={"info": {"description": "Media jobs and wallet video profiles"}})
    from api.dev.routes import blp as dev_blp
    from api.files.routes import blp as files_blp
    from api.forms.routes import blp as forms_blp
    from api.health.routes import blp as health_blp
    from api.media.routes import blp as media_blp
    from api.media.tus import blp as tus_media_blp
    from api.moderation.routes import blp as moderation_blp
    from api.moderation.routes import hashtags_blp
    from api.profiles.routes import blp as profiles_blp
    from api.signin.routes import blp as signin_blp
    from api.submissions.routes import blp as submissions_blp
    from api.temp_uploads.routes import blp as uploads_blp
    from api.temp_uploads.tus import blp as tus_uploads_blp
    from api.tenants.cli import tenants_cli
    from api.tenants.routes import blp as tenants_blp
    from api.web.routes import blp as web_blp
    from api.webhooks.routes import blp as webhooks_blp

    api.register_blueprint(media_blp)
    api.register_blueprint(webhooks_blp)
    api.register_blueprint(tenants_blp)
    api.register_blueprint(moderation_blp)
    api.register_blueprint(hashtags_blp)
    api.register_blueprint(profiles_blp)
    api.register_blueprint(signin_blp)
    api.register_blueprint(submissions_blp)
    api.register_blueprint(dev_blp)
    api.register_blueprint(uploads_blp)
    api.register_blueprint(forms_blp)
    app.cli.add_command(tenants_cli)
    app.register_blueprint(files_blp)
    app.register_blueprint(health_blp)
    app.register_blueprint(web_blp)
    app.register_blueprint(tus_uploads_blp)  # tus, not OpenAPI: documented in docs/PROFILES.md
    app.register_blueprint(tus_media_blp)  # tus, not OpenAPI: documented in docs/TENANTS.md
    init_ops(app, api)
    # After every blueprint is registered: each gets a per-IP limit (tenant limits on the media API).
    init_rate_limits(app, settings, [media_blp, tus_media_blp, webhooks_blp])
    init_observability(app, settings)
    register_error_handlers(app)
    # After the API's handlers: web pages answer browsers with HTML, languages for every page.
    init_error_pages(app)
    init_i18n(app)
    init_edge(app, settings)

    @app.get("/docs/assets/<path:name>")
    def swagger_assets(name: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    @app.teardown_request
    def _discard_uploads(_exc):
        if isinstance(request, StreamingRequest):
            request.discard_uploads()

    return app


def wsgi() -> Flask:
    """Entry point for gunicorn: ``gunicorn 'api.app:wsgi()'``."""
    settings = get_settings()
    require_production_settings(settings, "web", exit_code=GUNICORN_APP_LOAD_ERROR)
    configure_logging(settings, process="web")
    app = create_app(settings)
    # The web host's scratch (uploads streaming in, posters) is swept by the web host itself, in a child.
    ScratchSweeper(settings, in_child=True).start()
    if settings.PROBE_SPARE:
        SPARE.warm()  # the first video upload's probe skips the child's start-up too
    return app
