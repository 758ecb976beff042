"""Run by rubicon-ml's own venv: write, then rewrite, a root on S3 with s3fs's options.

python s3_root.py write|rewrite s3://BUCKET/ROOT ENDPOINT
"""

import json
import sys

from rubicon_ml import Rubicon

mode, root, endpoint = sys.argv[1:4]
rb = Rubicon(
    persistence="filesystem",
    root_dir=root,
    key="test",
    secret="test",
    client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
)
if mode == "write":
    project = rb.create_project("On S3")
    experiment = project.log_experiment("first", description="as logged", tags=["s3"])
    experiment.log_metric("accuracy", 0.75)
    experiment.log_parameter("depth", 3)
    print(json.dumps({"id": experiment.id}))
else:  # rubicon-ml's repository rewrites the experiment's record in place
    experiment = rb.get_project("On S3").experiments()[0]
    experiment._domain.description = "rewritten by rubicon-ml"
    rb.repository.create_experiment(experiment._domain)
    print(json.dumps({"id": experiment.id}))
