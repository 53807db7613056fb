CREATE TABLE `plugin_config` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`plugin_id` text NOT NULL,
	`env` text NOT NULL,
	`version` integer NOT NULL,
	`values` text NOT NULL,
	`changed_at` integer NOT NULL,
	`changed_by` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plugin_config_version_idx` ON `plugin_config` (`plugin_id`,`env`,`version`);--> statement-breakpoint
CREATE INDEX `plugin_config_seq_idx` ON `plugin_config` (`plugin_id`,`seq`);