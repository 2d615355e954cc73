/** Delivers notifications to the configured channels (ntfy, webhook, command); never changes an outcome. */
export { channelsFor, makeNotification, type Notification, sendNotifications } from "./send.ts";
