// The names of the documents the relay itself opens: an order's and a lab's (shared/schema.ts
// roomName gives the string; the sync core wants the kind and the id beside it).
import { roomName, type Room as RoomName } from '../shared/schema.ts'

export const orderRoom = (orderId: string): RoomName => ({ kind: 'order', name: roomName.order(orderId), orderId })
export const labRoom = (labId: string): RoomName => ({ kind: 'lab', name: roomName.lab(labId), labId })
export const catalogRoom = (): RoomName => ({ kind: 'catalog', name: 'catalog' })
