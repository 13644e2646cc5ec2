// The screens only a signed-in customer sees, in their own chunk: the sign-in screen (a first
// visit) does not download them; app.ts loads this once there is a session.
import './orders-list.ts'
import './order-page.ts'
import './prices.ts'
import './account.ts'
