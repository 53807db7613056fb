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
