CREATE TABLE `plugin_installs` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`plugin_id` text NOT NULL,
	`version` text NOT NULL,
	`digest` text NOT NULL,
	`source` text NOT NULL,
	`installed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `plugin_installs_plugin_idx` ON `plugin_installs` (`plugin_id`,`seq`);--> statement-breakpoint
CREATE TABLE `registry_artifacts` (
	`digest` text PRIMARY KEY NOT NULL,
	`plugin_id` text NOT NULL,
	`version` text NOT NULL,
	`manifest` text NOT NULL,
	`signer_key_ids` text NOT NULL,
	`source_url` text,
	`changelog` text,
	`publisher` text NOT NULL,
	`published_at` integer NOT NULL,
	`channel` text NOT NULL,
	`updated_at` integer NOT NULL,
	`yanked_at` integer,
	`yank_reason` text,
	`size` integer NOT NULL,
	`bytes` blob NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `registry_artifacts_version_idx` ON `registry_artifacts` (`plugin_id`,`version`);--> statement-breakpoint
CREATE INDEX `registry_artifacts_updated_idx` ON `registry_artifacts` (`updated_at`);