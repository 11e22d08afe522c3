# Read by the `flask` command (through python-dotenv) when run from this folder, so the cron jobs
# in README run as written. Settings (CB_CONFIG, DATABASE_URL, secrets) come from the environment.
FLASK_APP=community_board:create_app
