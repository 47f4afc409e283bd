"""Jobs outside the web process: the job store (SQLite) and the Celery worker that runs
``app.tasks.run_task`` for jobs the web tier queued. Flask-free: a worker never imports the web app."""
