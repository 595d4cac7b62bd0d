// The Assets page's islands: infinite scroll of the grid, drag-and-drop upload, the transform builder.
import './common.js';
