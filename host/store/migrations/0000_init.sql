CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`schema_version` integer NOT NULL,
	`ts` integer NOT NULL,
	`type` text NOT NULL,
	`level` text NOT NULL,
	`source` text NOT NULL,
	`plugin_id` text,
	`run_id` text,
	`correlation_id` text,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_type_idx` ON `events` (`type`);--> statement-breakpoint
CREATE INDEX `events_plugin_idx` ON `events` (`plugin_id`);--> statement-breakpoint
CREATE INDEX `events_run_idx` ON `events` (`run_id`);--> statement-breakpoint
CREATE TABLE `kv` (
	`plugin_id` text NOT NULL,
	`key` text NOT NULL,
	`value` blob NOT NULL,
	`size` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`plugin_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `plugins` (
	`id` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`digest` text NOT NULL,
	`signer_key_ids` text NOT NULL,
	`state` text NOT NULL,
	`installed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_records` (
	`id` text PRIMARY KEY NOT NULL,
	`parent_run_id` text,
	`plugin_id` text NOT NULL,
	`plugin_version` text,
	`module_digest` text NOT NULL,
	`capability` text,
	`export_name` text NOT NULL,
	`trigger` text NOT NULL,
	`correlation_id` text,
	`input_digest` text NOT NULL,
	`input_size` integer NOT NULL,
	`input` blob,
	`output_digest` text,
	`output_size` integer,
	`config_fingerprint` text NOT NULL,
	`limits` text NOT NULL,
	`status` text NOT NULL,
	`error_class` text,
	`error_message` text,
	`fuel` integer,
	`memory_pages` integer,
	`duration_ms` integer,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`host_name` text NOT NULL,
	`host_pid` integer NOT NULL,
	`host_instance` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `run_records_plugin_idx` ON `run_records` (`plugin_id`,`id`);--> statement-breakpoint
CREATE INDEX `run_records_status_idx` ON `run_records` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `run_records_parent_idx` ON `run_records` (`parent_run_id`);