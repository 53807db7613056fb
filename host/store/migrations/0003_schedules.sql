CREATE TABLE `leases` (
	`schedule_id` text NOT NULL,
	`occurrence` integer NOT NULL,
	`holder` text NOT NULL,
	`state` text NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer NOT NULL,
	`run_id` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`schedule_id`, `occurrence`)
);
--> statement-breakpoint
CREATE INDEX `leases_state_idx` ON `leases` (`state`,`expires_at`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`plugin_id` text NOT NULL,
	`capability` text NOT NULL,
	`cron` text,
	`interval_ms` integer,
	`input` text NOT NULL,
	`timezone` text,
	`source` text NOT NULL,
	`plugin_version` text,
	`state` text NOT NULL,
	`missed` text NOT NULL,
	`anchor_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `schedules_name_idx` ON `schedules` (`name`);--> statement-breakpoint
CREATE INDEX `schedules_plugin_idx` ON `schedules` (`plugin_id`);