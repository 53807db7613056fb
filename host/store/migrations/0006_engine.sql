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
CREATE INDEX `registry_artifacts_updated_idx` ON `registry_artifacts` (`updated_at`);--> statement-breakpoint
CREATE TABLE `event_dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`plugin_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_cursor` integer NOT NULL,
	`topic` text NOT NULL,
	`attempts` integer NOT NULL,
	`error_class` text NOT NULL,
	`error_message` text NOT NULL,
	`last_run_id` text,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_dead_letters_plugin_idx` ON `event_dead_letters` (`plugin_id`);--> statement-breakpoint
CREATE INDEX `event_dead_letters_state_idx` ON `event_dead_letters` (`state`);--> statement-breakpoint
CREATE TABLE `event_deliveries` (
	`run_id` text PRIMARY KEY NOT NULL,
	`plugin_id` text NOT NULL,
	`event_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_deliveries_plugin_idx` ON `event_deliveries` (`plugin_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `event_deliveries_event_idx` ON `event_deliveries` (`event_id`);--> statement-breakpoint
CREATE TABLE `event_subscriptions` (
	`plugin_id` text PRIMARY KEY NOT NULL,
	`cursor` integer NOT NULL,
	`holder` text,
	`lease_expires_at` integer NOT NULL,
	`delivered` integer NOT NULL,
	`failures` integer NOT NULL,
	`dead_lettered` integer NOT NULL,
	`expired` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
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
CREATE INDEX `plugin_config_seq_idx` ON `plugin_config` (`plugin_id`,`seq`);--> statement-breakpoint
CREATE TABLE `plugin_secrets` (
	`plugin_id` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`ciphertext` blob NOT NULL,
	`iv` blob NOT NULL,
	`key_id` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`plugin_id`, `name`)
);
--> statement-breakpoint
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
