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
