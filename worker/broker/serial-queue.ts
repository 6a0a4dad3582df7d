// Runs async critical sections one after another. A Durable Object's input gates only hold
// while storage is busy; an `await` on anything else (signing, hashing) lets the next request
// in, so every read-modify-write of broker state goes through one of these queues.
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task)
    // The queue continues after a failed task; the caller still sees the failure.
    this.#tail = result.catch(() => undefined)
    return result
  }
}
