CREATE TABLE `kv_staged` (
	`commit_id` text NOT NULL,
	`key` text NOT NULL,
	`value` blob,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`commit_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `kv_usage` (
	`plugin_id` text PRIMARY KEY NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`keys` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `kv_usage` (`plugin_id`, `bytes`, `keys`, `version`) SELECT `plugin_id`, sum(`size`), count(*), 1 FROM `kv` GROUP BY `plugin_id`;
