/** One event model (event.ts, docs/events.md) delivered to the configured channels, one file per channel type; never changes an outcome. */
export { COMMAND_BASE_ENV, commandEnv, commandEnvironment } from "./command.ts";
export { emailBody, emailMessage } from "./email.ts";
export {
  currentUser,
  makeNotification,
  type Notification,
  type NotificationFields,
  type RemovedBackup,
  sqlbakCommand,
  testNotification,
} from "./event.ts";
export { discordBody, slackBody } from "./http.ts";
export { lastGoodBackup } from "./last-good.ts";
export {
  channelLabel,
  channelsFor,
  type Delivery,
  describeTarget,
  notify,
  sendInBackground,
  sendNotifications,
  sendTestNotifications,
} from "./send.ts";
