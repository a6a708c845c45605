-- Jobs, their input rows and one result per row. Upserts by (job_id, row_num)
-- make every write of the pipeline idempotent.
CREATE TABLE jobs (
    job_id     text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    header     text[] NOT NULL,
    total_rows integer NOT NULL,
    bad_rows   jsonb NOT NULL DEFAULT '[]'
);

CREATE TABLE job_rows (
    job_id             text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    row_num            integer NOT NULL,
    line               integer NOT NULL,
    name               text NOT NULL,
    domain             text NOT NULL DEFAULT '',
    cols               text[] NOT NULL,
    -- output of the search stage: the site to fetch
    site_url           text,
    PRIMARY KEY (job_id, row_num)
);

CREATE TABLE results (
    job_id          text NOT NULL,
    row_num         integer NOT NULL,
    status          text NOT NULL CHECK (status IN ('ok', 'failed')),
    stage           text NOT NULL DEFAULT '',
    error_class     text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    site_url        text NOT NULL DEFAULT '',
    title           text NOT NULL DEFAULT '',
    title_url       text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    description_url text NOT NULL DEFAULT '',
    emails          jsonb NOT NULL DEFAULT '[]',
    phones          jsonb NOT NULL DEFAULT '[]',
    socials         jsonb NOT NULL DEFAULT '[]',
    pages           integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, row_num)
);
