import { makeNotification, type Notification } from "../notify/index.ts";

/** Health problems (`stats --check`) are sent as one `health` event listing them all. */
export function healthNotification(problems: string[]): Notification {
  return makeNotification({
    event: "health",
    title: `sqlbak: ${problems.length} health problem${problems.length > 1 ? "s" : ""}`,
    message: problems.join("\n"),
    problems,
  });
}
