CREATE TABLE `run_replay` (
	`run_id` text PRIMARY KEY NOT NULL,
	`mode` text NOT NULL,
	`seed` text NOT NULL,
	`entropy` text NOT NULL,
	`config` text NOT NULL,
	`tape` text NOT NULL,
	`unreplayable` text,
	`created_at` integer NOT NULL
);
